// Data access: an in-memory stand-in for a database whose queries complete asynchronously.
using OrdersApi.Orders;

namespace OrdersApi.Data;

public sealed record OrderRow(int Id, string CustomerId, int StatusCode, string Lines);

public sealed class OrderDatabase
{
    readonly Dictionary<int, OrderRow> _rows = new()
    {
        [41] = new OrderRow(41, "C-7", 1, "A-100x2"),
        [42] = new OrderRow(42, "C-9", 9, "B-200x1,C-300x4"),
    };

    public async Task<OrderRow?> QuerySingleAsync(int id)
    {
        await Task.Yield();
        return _rows.GetValueOrDefault(id);
    }

    public OrderRow? QueryCached(int id) => _rows.GetValueOrDefault(id);
}

public interface IOrderRepository
{
    Task<Order?> FindAsync(int id);
    Order FindCached(int id);
}

public sealed class OrderRepository : IOrderRepository
{
    static readonly string[] Statuses = { "new", "paid", "shipped" };
    readonly OrderDatabase _db;

    public OrderRepository(OrderDatabase db) => _db = db;

    public async Task<Order?> FindAsync(int id)
    {
        OrderRow? row = await _db.QuerySingleAsync(id);
        return row is null ? null : await MapAsync(row);
    }

    public Order FindCached(int id)
    {
        OrderRow row = _db.QueryCached(id) ?? throw new KeyNotFoundException($"Order {id} does not exist.");
        return new Order(row.Id, row.CustomerId, "paid", ParseLines(row.Lines));
    }

    async Task<Order> MapAsync(OrderRow row)
    {
        await Task.Yield();
        if (row.StatusCode < 0 || row.StatusCode >= Statuses.Length)
            throw new InvalidDataException($"Order {row.Id} has the unknown status code {row.StatusCode}.");
        return new Order(row.Id, row.CustomerId, Statuses[row.StatusCode], ParseLines(row.Lines));
    }

    static OrderLine[] ParseLines(string lines) =>
        lines.Split(',').Select(l => l.Split('x')).Select(p => new OrderLine(p[0], int.Parse(p[1]))).ToArray();
}

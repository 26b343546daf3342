// Order handling: async chains, async local functions and lambdas, ValueTask and
// async iterators, Task.WhenAll, inner exceptions and ExceptionDispatchInfo.
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace MyService.Orders;

public sealed record Order(int Id, string Customer, decimal Amount);

public sealed class OrderProcessingException : Exception
{
    public OrderProcessingException(string message, Exception inner) : base(message, inner) { }
}

public sealed class OrderRepository
{
    public async Task SaveAsync(Order order)
    {
        await Task.Yield();
        if (order.Amount <= 0)
            throw new InvalidOperationException($"Order {order.Id} has a non-positive amount {order.Amount}.");
    }

    public async ValueTask<decimal> LoadAmountAsync(int orderId)
    {
        await Task.Yield();
        return orderId * 10m;
    }

    public async IAsyncEnumerable<int> OpenOrderIdsAsync()
    {
        for (int id = 1; id <= 3; id++)
        {
            await Task.Yield();
            if (id == 3)
                throw new InvalidDataException($"Order index is corrupt after order {id - 1}.");
            yield return id;
        }
    }
}

public sealed class OrderService
{
    readonly OrderRepository _repository = new();

    public async Task<int> CreateOrderAsync(Order order)
    {
        await ValidateAsync(order);
        await _repository.SaveAsync(order);
        return order.Id;
    }

    async Task ValidateAsync(Order order)
    {
        await Task.Yield();
        if (string.IsNullOrEmpty(order.Customer))
            throw new ArgumentException($"Order {order.Id} has no customer.", nameof(order));
    }

    public async Task<int> ImportAsync(IReadOnlyList<Order> orders)
    {
        int imported = 0;
        foreach (var order in orders)
        {
            await ImportOneAsync(order);
            imported++;
        }
        return imported;

        async Task ImportOneAsync(Order order)
        {
            await Task.Yield();
            await _repository.SaveAsync(order);
        }
    }

    public async Task NotifyAsync(Order order)
    {
        Func<Order, Task> send = async o =>
        {
            await Task.Yield();
            throw new TimeoutException($"Notification for order {o.Id} timed out.");
        };
        await send(order);
    }

    public async ValueTask<decimal> SumOpenOrdersAsync()
    {
        decimal sum = 0;
        await foreach (int id in _repository.OpenOrderIdsAsync())
            sum += await _repository.LoadAmountAsync(id);
        return sum;
    }

    public Task<int[]> CreateManyAsync(IEnumerable<Order> orders) =>
        Task.WhenAll(orders.Select(CreateOrderAsync));
}

public sealed class OrderPipeline
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Process(Order order)
    {
        try
        {
            Reserve(order);
        }
        catch (InventoryException e)
        {
            throw new OrderProcessingException($"Order {order.Id} could not be processed.", e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Reserve(Order order)
    {
        try
        {
            CheckCredit(order);
        }
        catch (InvalidOperationException e)
        {
            throw new InventoryException($"Stock for order {order.Id} was not reserved.", e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void CheckCredit(Order order)
    {
        if (order.Amount < 0)
            throw new InvalidOperationException($"Credit check failed for customer {order.Customer}.");
    }
}

public sealed class InventoryException : Exception
{
    public InventoryException(string message, Exception inner) : base(message, inner) { }
}

public sealed class PaymentGateway
{
    ExceptionDispatchInfo? _lastFailure;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Charge(Order order)
    {
        Authorize(order);
        try
        {
            Settle();
        }
        catch (InvalidOperationException)
        {
            // Log and rethrow: `throw;` keeps the original frames.
            throw;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Authorize(Order order)
    {
        try
        {
            Declined(order);
        }
        catch (InvalidOperationException e)
        {
            // Remember the failure and rethrow it later, elsewhere, as a retry loop would.
            _lastFailure = ExceptionDispatchInfo.Capture(e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Settle() => _lastFailure?.Throw();

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Declined(Order order) =>
        throw new InvalidOperationException($"Payment for order {order.Id} was declined.");
}

// Application service for orders, resolved per request through dependency injection.
using OrdersApi.Data;

namespace OrdersApi.Orders;

public sealed class OrderService
{
    readonly OrderValidator _validator;
    readonly IOrderRepository _repository;

    public OrderService(OrderValidator validator, IOrderRepository repository)
    {
        _validator = validator;
        _repository = repository;
    }

    public Order Create(CreateOrderRequest request)
    {
        _validator.Validate(request);
        return new Order(1000, request.CustomerId, "new", request.Lines);
    }

    public async Task<Order> GetAsync(int id)
    {
        Order? order = await _repository.FindAsync(id);
        return order ?? throw new KeyNotFoundException($"Order {id} does not exist.");
    }

    public Order GetCached(int id) => _repository.FindCached(id);

    public OrderSummary Summarize(int id)
    {
        Order order = _repository.FindCached(id);
        return new OrderSummary(order.Id, order.Status, order.Lines.Length);
    }
}

// Business rules for new orders.
namespace OrdersApi.Orders;

public sealed class OrderValidator
{
    public void Validate(CreateOrderRequest request)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(request.CustomerId))
            errors.Add("customerId is required");
        if (request.Lines is null || request.Lines.Length == 0)
            errors.Add("at least one line is required");
        else
            for (int i = 0; i < request.Lines.Length; i++)
                if (request.Lines[i].Quantity <= 0)
                    errors.Add($"lines[{i}].quantity must be positive");
        if (errors.Count > 0)
            throw new OrderValidationException(errors);
    }
}

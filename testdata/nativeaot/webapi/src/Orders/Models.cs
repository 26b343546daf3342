// Order data as the API sends and receives it.
namespace OrdersApi.Orders;

public sealed record OrderLine(string Sku, int Quantity);

public sealed record CreateOrderRequest(string CustomerId, OrderLine[] Lines);

public sealed class Address
{
    public Address(string street, string city)
    {
        Street = street;
        City = city;
    }

    public string Street;
    public string City;
}

public sealed record Order(int Id, string CustomerId, string Status, OrderLine[] Lines)
{
    // Not part of the JSON contract; orders imported from the old system have none.
    [System.Text.Json.Serialization.JsonIgnore]
    public Address? ShipTo { get; init; }
}

// Deliberately not registered in AppJsonContext.
public sealed record OrderSummary(int Id, string Status, int LineCount);

public sealed class OrderValidationException : Exception
{
    public OrderValidationException(IReadOnlyList<string> errors)
        : base("The order is invalid: " + string.Join("; ", errors) + ".")
    {
        Errors = errors;
    }

    public IReadOnlyList<string> Errors { get; }
}

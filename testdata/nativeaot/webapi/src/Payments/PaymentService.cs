// Payments: a gateway client that times out and a service that wraps its failure.
namespace OrdersApi.Payments;

public sealed record PaymentRequest(decimal Amount, string Currency);

public sealed record PaymentReceipt(int OrderId, string AuthorizationCode);

public sealed class PaymentFailedException : Exception
{
    public PaymentFailedException(string message, Exception inner) : base(message, inner) { }
}

public sealed class PaymentGatewayClient
{
    const int TimeoutMilliseconds = 3000;

    public async Task<string> AuthorizeAsync(int orderId, decimal amount, string currency)
    {
        await Task.Yield();
        throw new TimeoutException(
            $"The payment gateway did not answer within {TimeoutMilliseconds} ms (order {orderId}, {amount} {currency}).");
    }
}

public sealed class PaymentService
{
    readonly PaymentGatewayClient _gateway;

    public PaymentService(PaymentGatewayClient gateway) => _gateway = gateway;

    public async Task<PaymentReceipt> ChargeAsync(int orderId, PaymentRequest payment)
    {
        try
        {
            string code = await _gateway.AuthorizeAsync(orderId, payment.Amount, payment.Currency);
            return new PaymentReceipt(orderId, code);
        }
        catch (TimeoutException ex)
        {
            throw new PaymentFailedException($"Payment for order {orderId} failed.", ex);
        }
    }
}

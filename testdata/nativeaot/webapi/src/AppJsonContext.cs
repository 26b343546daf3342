// The only JSON metadata the API has: Native AOT has no reflection-based serializer.
// OrderSummary is left out on purpose (the serializer case).
using System.Text.Json;
using System.Text.Json.Serialization;
using OrdersApi.Orders;
using OrdersApi.Payments;

namespace OrdersApi;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CreateOrderRequest))]
[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(PaymentRequest))]
[JsonSerializable(typeof(PaymentReceipt))]
[JsonSerializable(typeof(string[]))]
public partial class AppJsonContext : JsonSerializerContext
{
}

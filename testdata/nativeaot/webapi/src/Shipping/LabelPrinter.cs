// Shipping labels: the address helper does not expect orders without an address.
using System.Runtime.CompilerServices;
using OrdersApi.Orders;

namespace OrdersApi.Shipping;

public sealed class LabelPrinter
{
    public string Print(Order order) =>
        $"{order.CustomerId}\n{AddressFormatter.FirstLine(order.ShipTo!)}\n";
}

public static class AddressFormatter
{
    // NoInlining keeps the faulting helper a frame of its own.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string FirstLine(Address address) =>
        address.Street.Trim() + ", " + address.City.Trim();
}

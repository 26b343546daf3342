// Receipt formatting: one method name with four overloads, calling each other.
using System.Runtime.CompilerServices;
using MyService.Orders;

namespace MyService.Formatting;

public static class ReceiptFormatter
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Format(Order order) => Format(order.Customer) + Format(order.Id);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Format(string customer) => customer.ToUpperInvariant();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Format(int orderId) => "#" + Format((decimal)orderId * -1, "EUR");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Format(decimal amount, string currency) =>
        amount >= 0 ? $"{amount:0.00} {currency}" : throw new FormatException($"Cannot format the negative amount {amount} {currency}.");
}

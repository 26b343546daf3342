// Pricing: lambdas and closures, local functions, an operator, tiny helpers.
using System.Runtime.CompilerServices;

namespace MyService.Pricing;

public sealed class PriceCalculator
{
    static readonly Func<decimal, decimal> s_round =
        p => p >= 0 ? Math.Round(p, 2) : throw new ArgumentOutOfRangeException(nameof(p), p, "A price cannot be negative.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public decimal Total(IEnumerable<decimal> prices, decimal discount)
    {
        // Captures `discount`: the compiler emits a <>c__DisplayClass with the lambda as an instance method.
        Func<decimal, decimal> apply = p => p - p * CheckDiscount(discount);
        decimal total = 0;
        foreach (var p in prices)
            total += apply(p);
        return total;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static decimal CheckDiscount(decimal discount) =>
        discount is >= 0 and <= 1 ? discount : throw new ArgumentOutOfRangeException(nameof(discount), discount, "A discount is a fraction between 0 and 1.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public decimal[] RoundAll(decimal[] prices)
    {
        var rounded = new decimal[prices.Length];
        for (int i = 0; i < prices.Length; i++)
            rounded[i] = s_round(prices[i]);
        return rounded;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public int CountValid(int[] quantities)
    {
        int limit = 100;
        int count = 0;
        foreach (int q in quantities)
            if (WithinLimit(q) && IsValid(q))
                count++;
        return count;

        // Captures `limit`: a capturing local function takes the closure struct by reference.
        bool WithinLimit(int q) => q <= limit;

        // Captures nothing: a static local function.
        [MethodImpl(MethodImplOptions.NoInlining)]
        static bool IsValid(int q) =>
            q >= 0 ? true : throw new ArgumentException($"Quantity {q} is negative.", nameof(q));
    }

    // No attributes: the compiler is free to inline these, as it would in real code.
    public decimal UnitPrice(decimal total, int quantity) => Divide(total, quantity);

    static decimal Divide(decimal total, int quantity) => total / Guard(quantity);

    static int Guard(int quantity) =>
        quantity > 0 ? quantity : throw new ArgumentOutOfRangeException(nameof(quantity), quantity, "Quantity must be positive.");
}

public readonly struct Money
{
    public Money(decimal amount, string currency)
    {
        Amount = amount;
        Currency = currency;
    }

    public decimal Amount { get; }
    public string Currency { get; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Money operator +(Money a, Money b) =>
        a.Currency == b.Currency
            ? new Money(a.Amount + b.Amount, a.Currency)
            : throw new InvalidOperationException($"Cannot add {b.Currency} to {a.Currency}.");
}

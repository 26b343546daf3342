// Reporting: LINQ, integer arithmetic, array indexing and casts that fail.
using System.Runtime.CompilerServices;
using MyService.Orders;

namespace MyService.Reporting;

public sealed class OrderReport
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public Dictionary<string, decimal> AveragePerCustomer(IEnumerable<Order> orders) =>
        orders
            .GroupBy(o => o.Customer)
            .Select(g => new { Customer = g.Key, Count = g.Sum(o => Units(o)) })
            .OrderBy(x => x.Customer)
            .ToDictionary(x => x.Customer, x => 100m / x.Count);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static int Units(Order o) =>
        o.Amount > 0 ? (int)o.Amount : throw new InvalidOperationException($"Order {o.Id} has no units.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public int AverageQuantity(int totalQuantity, int orderCount) => totalQuantity / orderCount;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public int NthLargest(int[] values, int n)
    {
        var sorted = (int[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length - n];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public int Checked(object[] values)
    {
        int sum = 0;
        foreach (object v in values)
            sum = checked(sum + (int)v);
        return sum;
    }
}

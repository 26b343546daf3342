// Inventory: nested types, a struct, properties and an indexer, an explicit interface
// implementation, an instance constructor and a static constructor that fail.
using System.Runtime.CompilerServices;

namespace MyService.Inventory;

public interface IStockSource
{
    decimal Reserve(string sku, int count);
}

public sealed class Warehouse : IStockSource
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    decimal IStockSource.Reserve(string sku, int count)
    {
        // Stock held abroad is priced in its own currency.
        var price = new Pricing.Money(count * 1.5m, "EUR") + new Pricing.Money(count * 0.5m, "USD");
        return price.Amount;
    }

    public static class Aisle
    {
        public sealed class Shelf
        {
            readonly int[] _bins = { 5, 5, 5, 5 };

            [MethodImpl(MethodImplOptions.NoInlining)]
            public void Take(int bin, int count)
            {
                if (_bins[bin] < count)
                    throw new InvalidOperationException($"Bin {bin} holds {_bins[bin]} items, {count} requested.");
                _bins[bin] -= count;
            }
        }
    }
}

public struct StockLevel
{
    int _onHand;
    int _reserved;

    public StockLevel(int onHand)
    {
        _onHand = onHand;
        _reserved = 0;
    }

    public readonly int Available
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        get => _onHand - _reserved;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Reserve(int count)
    {
        if (count > Available)
            throw new InvalidOperationException($"Only {Available} available, {count} requested.");
        _reserved += count;
    }
}

public sealed class Product
{
    decimal _price;

    public Product(string sku) => Sku = sku;

    public string Sku { get; }

    public decimal Price
    {
        get => _price;
        [MethodImpl(MethodImplOptions.NoInlining)]
        set => _price = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A price cannot be negative.");
    }

    public string Description
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        get => throw new InvalidOperationException($"The description of {Sku} has not been loaded.");
    }
}

public sealed class StockBook
{
    readonly Dictionary<string, int> _counts = new() { ["P-100"] = 3 };

    public int this[string sku]
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        get => _counts.TryGetValue(sku, out int n) ? n : throw new KeyNotFoundException($"Unknown SKU {sku}.");
    }
}

public sealed class Shipment
{
    public int WeightKg { get; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public Shipment(int weightKg)
    {
        if (weightKg > 1000)
            throw new ArgumentOutOfRangeException(nameof(weightKg), weightKg, "A parcel shipment weighs at most 1000 kg.");
        WeightKg = weightKg;
    }
}

public static class TaxTable
{
    static readonly Dictionary<string, decimal> s_rates = Load();

    [MethodImpl(MethodImplOptions.NoInlining)]
    static Dictionary<string, decimal> Load() =>
        throw new InvalidDataException("The tax table resource is missing.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static decimal RateFor(string country) => s_rates[country];
}

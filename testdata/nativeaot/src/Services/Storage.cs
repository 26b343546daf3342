// Storage: a generic repository instantiated over a class (shared code) and a struct
// (specialized code), generic methods, and the null dereferences.
using System.Runtime.CompilerServices;

namespace MyService.Storage;

public interface IEntity
{
    int Id { get; }
}

public sealed class Customer : IEntity
{
    public Customer(int id, string name)
    {
        Id = id;
        Name = name;
    }

    public int Id { get; }
    public string Name { get; }
    public Address? Address { get; set; }
}

public class Address
{
    public string City = "";
    public virtual string Describe() => City;
}

public readonly struct Sku : IEntity
{
    public Sku(int id, int stock)
    {
        Id = id;
        Stock = stock;
    }

    public int Id { get; }
    public int Stock { get; }
}

public sealed class Repository<T> where T : IEntity
{
    readonly Dictionary<int, T> _items = new();

    public void Add(T item) => _items.Add(item.Id, item);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public T Get(int id) =>
        _items.TryGetValue(id, out var item) ? item : throw new KeyNotFoundException($"No entity with id {id}.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public TResult Map<TResult>(int id, Func<T, TResult> map) => map(Get(id));
}

public static class Quantities
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T Require<T>(T value, string what) where T : struct, IComparable<T> =>
        value.CompareTo(default) >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, $"The {what} must not be negative.");
}

public static class AddressBook
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int CityLength(Customer customer) => customer.Address!.City.Length;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Describe(Address? address) => "at " + address!.Describe();
}

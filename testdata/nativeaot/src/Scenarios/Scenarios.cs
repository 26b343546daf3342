// Scenario entry points: each one calls into the service code the way a request
// handler would and lets the exception escape to Program.Main.
using System.Runtime.CompilerServices;
using MyService.Catalogs;
using MyService.Formatting;
using MyService.Inventory;
using MyService.Orders;
using MyService.Pricing;
using MyService.Reliability;
using MyService.Serialization;
using MyService.Reporting;
using MyService.Storage;

namespace MyService;

// NoInlining keeps each entry point as its own frame in every variant.
public static class Scenarios
{
    static readonly Order BadAmount = new(7, "ACME", -5m);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AsyncChain() =>
        new OrderService().CreateOrderAsync(BadAmount).GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AsyncLocalFunction() =>
        new OrderService().ImportAsync(new[] { new Order(1, "ACME", 10m), BadAmount }).GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AsyncLambda() =>
        new OrderService().NotifyAsync(BadAmount).GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AsyncValueTask() =>
        new OrderService().SumOpenOrdersAsync().AsTask().GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void LambdaClosure() =>
        new PriceCalculator().Total(new[] { 10m, 20m }, discount: 1.5m);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void LambdaStatic() =>
        new PriceCalculator().RoundAll(new[] { 1.234m, -2m });

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void LocalFunction() =>
        new PriceCalculator().CountValid(new[] { 3, 1, -4 });

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Overloads() =>
        ReceiptFormatter.Format(BadAmount);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void GenericShared()
    {
        var customers = new Repository<Customer>();
        customers.Add(new Customer(1, "Ada"));
        customers.Map(2, (Customer c) => c.Name);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void GenericValueType()
    {
        var skus = new Repository<Sku>();
        skus.Add(new Sku(1, 40));
        skus.Map(1, (Sku s) => Quantities.Require<int>(s.Stock - 50, "stock after reservation"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NestedTypes() =>
        new Warehouse.Aisle.Shelf().Take(bin: 3, count: 12);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StructMethod()
    {
        var level = new StockLevel(onHand: 4);
        level.Reserve(10);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Property()
    {
        var product = new Product("P-100");
        var failures = new List<Exception>();
        try { product.Price = -1m; } catch (Exception e) { failures.Add(e); }
        try { _ = new StockBook()["P-404"]; } catch (Exception e) { failures.Add(e); }
        try { _ = product.Description; } catch (Exception e) { failures.Add(e); }
        throw new AggregateException("Product checks failed.", failures);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void OperatorAndInterface()
    {
        IStockSource source = new Warehouse();
        GC.KeepAlive(source.Reserve("P-1", 2));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Constructor() =>
        GC.KeepAlive(new Shipment(weightKg: 1200));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StaticConstructor() =>
        GC.KeepAlive(TaxTable.RateFor("DE"));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Iterator() =>
        new CatalogReader().CountItems("catalog-2026");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Linq() =>
        new OrderReport().AveragePerCustomer(new[] { new Order(1, "ACME", 10m), new Order(2, "Zeta", 0m) });

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void JsonSerialize() =>
        InvoiceJson.Serialize(new Invoice(42, new[] { new InvoiceLine("P-1", 2, 9.5m) }));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void JsonDeserialize() =>
        InvoiceJson.Deserialize("{\"Id\":42,\"Lines\":[{\"Sku\":\"P-1\",\"Quantity\":\"two\",\"UnitPrice\":9.5}]}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void EdiRethrow() =>
        new PaymentGateway().Charge(BadAmount);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void InnerExceptions() =>
        new OrderPipeline().Process(BadAmount);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Aggregate() =>
        new OrderService().CreateManyAsync(new[] { BadAmount, new Order(8, "", 1m) }).Wait();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NullReference() =>
        AddressBook.CityLength(new Customer(3, "Null Street"));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void NullReferenceCall() =>
        AddressBook.Describe(null);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void DivideByZero() =>
        new OrderReport().AverageQuantity(totalQuantity: 12, orderCount: 0);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void IndexOutOfRange() =>
        new OrderReport().NthLargest(new[] { 3, 9, 4 }, 5);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidCast() =>
        new OrderReport().Checked(new object[] { 5, "seven" });

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FilterFinally() =>
        new RetryPolicy().Run(attempts: 3);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void CatchThrows() =>
        new ConfigLoader().Load("timeout=abc");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FinallyThrows() =>
        new ConfigLoader().LoadWithLock("retries=3");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowHelper() =>
        new OrderLookup().Find(orderId: 99, region: "eu");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Recursion() =>
        new CategoryTree().Depth(CategoryTree.Chain(60));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StackTraceHidden() =>
        new OrderLookup().FindGuarded(orderId: -1);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Inlining() =>
        new PriceCalculator().UnitPrice(total: 10m, quantity: 0);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Unhandled() =>
        new OrderService().CreateOrderAsync(new Order(9, "", 1m)).GetAwaiter().GetResult();
}

// Serialization: System.Text.Json with a source-generated context.
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MyService.Serialization;

public sealed record InvoiceLine(string Sku, int Quantity, decimal UnitPrice);

public sealed class Invoice
{
    public Invoice(int id, InvoiceLine[] lines)
    {
        Id = id;
        Lines = lines;
    }

    public int Id { get; }
    public InvoiceLine[] Lines { get; }

    public string Currency
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        get => throw new InvalidOperationException($"Invoice {Id} has no currency yet.");
    }
}

[JsonSerializable(typeof(Invoice))]
[JsonSerializable(typeof(InvoiceLine[]))]
public partial class InvoiceJsonContext : JsonSerializerContext
{
}

public static class InvoiceJson
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Serialize(Invoice invoice) =>
        JsonSerializer.Serialize(invoice, InvoiceJsonContext.Default.Invoice);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvoiceLine[] Deserialize(string json) =>
        JsonSerializer.Deserialize(json, InvoiceJsonContext.Default.Invoice)?.Lines
        ?? throw new InvalidDataException("The invoice document is empty.");
}

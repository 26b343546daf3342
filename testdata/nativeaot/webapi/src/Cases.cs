// The failing endpoints, one case each: the request that makes it fail and what the
// resulting trace covers. GET /cases lists them (like `app list` of the scenario
// program) and GET /cases/requests tells tools/webapi.py what to send.
using System.Text;
using OrdersApi.Diagnostics;

namespace OrdersApi;

public sealed record Case(string Name, string Covers, string Method, string Path, string? Body = null)
{
    /// <summary>The request as one line: METHOD PATH[ BODY].</summary>
    public string RequestLine => Body is null ? $"{Method} {Path}" : $"{Method} {Path} {Body}";
}

public static class CaseCatalog
{
    public static readonly Case[] All =
    {
        new("validation", "validation exception from a service resolved through dependency injection (generated request delegate, JSON body binding)",
            "POST", "/orders", """{"customerId":"","lines":[{"sku":"A-100","quantity":0}]}"""),
        new("middleware", "failure inside a custom middleware class, before routing (Dictionary indexer as the leaf, its throw helper hidden)",
            "GET", "/tenants/globex/orders"),
        new("repository", "async repository call that throws through an await chain (Task.Yield; four state machines up to an async lambda endpoint)",
            "GET", "/orders/42"),
        new("serializer", "System.Text.Json refuses a result type missing from the JsonSerializerContext (TypedResults.Ok execution)",
            "GET", "/orders/42/summary"),
        new("null-reference", "hardware fault: null dereference in a formatting helper (NullReferenceException)",
            "GET", "/orders/42/label"),
        new("inner-exception", "async gateway timeout wrapped in a domain exception (inner exception, two await chains)",
            "POST", "/orders/42/payments", """{"amount":19.99,"currency":"EUR"}"""),
        new("endpoint-filter", "exception thrown from an IEndpointFilter before the handler runs",
            "DELETE", "/orders/42"),
    };

    public static Case? Find(string method, string path) =>
        Array.Find(All, c => c.Method == method && c.Path == path);

    public static string ListText()
    {
        var sb = new StringBuilder();
        sb.Append(CrashReport.Header());
        foreach (var c in All)
            sb.Append(c.Name).Append('\t').Append(c.Covers).Append('\n');
        return sb.ToString();
    }

    public static string RequestsText()
    {
        var sb = new StringBuilder();
        foreach (var c in All)
            sb.Append(c.Name).Append('\t').Append(c.RequestLine).Append('\n');
        return sb.ToString();
    }
}

// Multi-tenant routing: /tenants/{name}/... requests carry their tenant in the path,
// and the middleware resolves it before routing runs.
namespace OrdersApi.Tenancy;

public sealed record Tenant(string Name, string Region);

public sealed class TenantDirectory
{
    readonly Dictionary<string, Tenant> _tenants = new()
    {
        ["acme"] = new Tenant("acme", "eu-west-1"),
        ["initech"] = new Tenant("initech", "us-east-1"),
    };

    public Tenant Get(string name) => _tenants[name];
}

public sealed class TenantMiddleware
{
    static readonly PathString Prefix = "/tenants";
    readonly RequestDelegate _next;
    readonly TenantDirectory _directory;

    public TenantMiddleware(RequestDelegate next, TenantDirectory directory)
    {
        _next = next;
        _directory = directory;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments(Prefix, out var rest))
        {
            string name = rest.Value!.TrimStart('/').Split('/')[0];
            Tenant tenant = _directory.Get(name);
            context.Items[typeof(Tenant)] = tenant;
        }
        await _next(context);
    }
}

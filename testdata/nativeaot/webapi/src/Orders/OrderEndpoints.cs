// The /orders routes: a mix of method groups and lambdas, as minimal APIs are written.
using Microsoft.AspNetCore.Http.HttpResults;
using OrdersApi.Payments;
using OrdersApi.Shipping;

namespace OrdersApi.Orders;

public static class OrderEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var orders = app.MapGroup("/orders");

        orders.MapPost("", Create);
        orders.MapGet("/{id:int}", async (int id, OrderService service) =>
            TypedResults.Ok(await service.GetAsync(id)));
        orders.MapGet("/{id:int}/summary", (int id, OrderService service) =>
            TypedResults.Ok(service.Summarize(id)));
        orders.MapGet("/{id:int}/label", PrintLabel);
        orders.MapPost("/{id:int}/payments", async (int id, PaymentRequest payment, PaymentService payments) =>
            TypedResults.Ok(await payments.ChargeAsync(id, payment)));
        orders.MapDelete("/{id:int}", (int id) => TypedResults.NoContent())
            .AddEndpointFilter<RequireScopeFilter>();
    }

    static Created<Order> Create(CreateOrderRequest request, OrderService service)
    {
        Order order = service.Create(request);
        return TypedResults.Created($"/orders/{order.Id}", order);
    }

    static string PrintLabel(int id, OrderService service, LabelPrinter printer) =>
        printer.Print(service.GetCached(id));
}

/// <summary>Endpoints that change data need the admin scope, sent as X-Scopes.</summary>
public sealed class RequireScopeFilter : IEndpointFilter
{
    const string Scope = "orders:admin";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        string scopes = context.HttpContext.Request.Headers["X-Scopes"].ToString();
        if (!scopes.Split(' ').Contains(Scope))
        {
            int id = context.GetArgument<int>(0);
            throw new UnauthorizedAccessException(
                $"{context.HttpContext.Request.Method} of order {id} needs the '{Scope}' scope.");
        }
        return next(context);
    }
}

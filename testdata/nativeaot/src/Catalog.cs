// The list of scenarios. Each entry runs one realistic call chain that ends in an
// exception; Covers names the frame shapes the resulting trace contains.
namespace MyService;

public sealed record Scenario(string Name, string Covers, Action Run, bool Unhandled = false);

public static class Catalog
{
    public static readonly Scenario[] All =
    {
        new("async-chain", "async state machines (<M>d__N.MoveNext), await rethrow boundaries", Scenarios.AsyncChain),
        new("async-local-function", "async local function (<M>g__Local|N_M state machine)", Scenarios.AsyncLocalFunction),
        new("async-lambda", "async lambda (<>c.<<M>b__N_0>d.MoveNext)", Scenarios.AsyncLambda),
        new("async-valuetask", "ValueTask-returning async method, async iterator (IAsyncEnumerable)", Scenarios.AsyncValueTask),
        new("lambda-closure", "lambda capturing a local (<>c__DisplayClassN_0.<M>b__0)", Scenarios.LambdaClosure),
        new("lambda-static", "non-capturing lambda (<>c.<M>b__N_0) cached in a static field", Scenarios.LambdaStatic),
        new("local-function", "local functions (<M>g__Local|N_0), static and capturing", Scenarios.LocalFunction),
        new("overloads", "four overloads of one method name in one type", Scenarios.Overloads),
        new("generic-shared", "generic type and method over reference types (shared canonical code)", Scenarios.GenericShared),
        new("generic-valuetype", "generic type and method over value types (specialized code)", Scenarios.GenericValueType),
        new("nested-types", "nested types three levels deep", Scenarios.NestedTypes),
        new("struct-method", "instance method of a struct", Scenarios.StructMethod),
        new("property", "property getter and setter (get_X, set_X), indexer (get_Item)", Scenarios.Property),
        new("operator", "user-defined operator (op_Addition) called from an explicit interface implementation", Scenarios.OperatorAndInterface),
        new("constructor", "instance constructor (.ctor)", Scenarios.Constructor),
        new("static-constructor", "static constructor (.cctor) -> TypeInitializationException", Scenarios.StaticConstructor),
        new("iterator", "iterator (<GetItems>d__N.MoveNext) consumed by foreach", Scenarios.Iterator),
        new("linq", "exception thrown from a lambda inside LINQ operators (framework frames)", Scenarios.Linq),
        new("json-serialize", "System.Text.Json source-generated serialization calling a throwing getter", Scenarios.JsonSerialize),
        new("json-deserialize", "System.Text.Json source-generated deserialization of invalid input", Scenarios.JsonDeserialize),
        new("edi-rethrow", "ExceptionDispatchInfo.Throw across methods and plain rethrow (throw;)", Scenarios.EdiRethrow),
        new("inner-exceptions", "two levels of inner exceptions (' ---> ', end of inner exception)", Scenarios.InnerExceptions),
        new("aggregate", "AggregateException with two inner exceptions from Task.WhenAll/Wait", Scenarios.Aggregate),
        new("null-reference", "hardware fault: null field dereference (NullReferenceException)", Scenarios.NullReference),
        new("null-reference-call", "hardware fault: virtual call on a null reference", Scenarios.NullReferenceCall),
        new("divide-by-zero", "integer division by zero (DivideByZeroException)", Scenarios.DivideByZero),
        new("index-out-of-range", "array bounds check failure (runtime throw helper)", Scenarios.IndexOutOfRange),
        new("invalid-cast", "failed unboxing cast (a runtime helper as the leaf frame)", Scenarios.InvalidCast),
        new("filter-finally", "exception through try/finally and false exception filters, caught by a true filter", Scenarios.FilterFinally),
        new("catch-throws", "exception thrown from inside a catch handler", Scenarios.CatchThrows),
        new("finally-throws", "exception thrown from inside a finally handler while unwinding", Scenarios.FinallyThrows),
        new("throw-helper", "throw-helper methods ([DoesNotReturn], ArgumentNullException.ThrowIfNull)", Scenarios.ThrowHelper),
        new("recursion", "recursion 60 frames deep", Scenarios.Recursion),
        new("stacktrace-hidden", "a [StackTraceHidden] method in the middle of the chain", Scenarios.StackTraceHidden),
        new("inlining", "small helpers the compiler may inline (frames the JIT shows and AOT may not)", Scenarios.Inlining),
        new("unhandled", "unhandled exception: the runtime's own report on stderr", Scenarios.Unhandled, Unhandled: true),
    };

    public static Scenario? Find(string name) => Array.Find(All, s => s.Name == name);
}

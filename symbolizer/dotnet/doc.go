// Package dotnet connects the way the .NET Native AOT runtime prints a method in a
// stack trace with what the build's debug file says about that method.
//
// A frame prints `Ns.Outer.Inner`1.M[T](Int32, String&) + 0x1c`: the type with
// `.` between namespaces and nested types alike, generic arity as “ `N“, the
// method's generic parameters by name, the parameters' short type names. The debug
// file holds, per function, the ELF symbol ILCompiler mangled
// (`Asm_Ns_Outer_Inner_1<System___Canon>__M_0<Int32>`), and in DWARF the mangled
// class name, the method's metadata name (`M`, `.ctor`,
// `Ns.IFace.M` for an explicit interface implementation) and its parameter types
// (`int`, `String &`, `__Array<Int32> &`).
//
// The rules here are derived from ILCompiler's NativeAotNameMangler and the
// runtime's MethodNameFormatter (System.Private.StackTraceMetadata), not from any
// particular program:
//
//   - SanitizeName keeps ASCII letters, digits and '_'; every other character
//     becomes '_' (.NET 9 and later: one '_' per UTF-8 code point; .NET 8: one per
//     UTF-16 code unit); a name starting with a digit gets a '_' in front.
//   - A type is `Sanitize(assembly)_Sanitize(namespace)_Outer_..._Name`, with
//     "System.Private." abbreviated to "S.P."; nesting and namespaces are both
//     joined with '_' and cannot be told apart. Core library primitives, Object
//     and String are `Bool`, `UInt8`, `Int8`, `Char`, `Int16` … `UIntPtr`,
//     `Object`, `String` with no prefix. Names that collide within an assembly get
//     `_0`, `_1` … appended.
//   - An instantiated type appends `<Arg1__Arg2>`; code shared across reference
//     types is instantiated over `System___Canon`. Arrays are `__Array<E>`,
//     `__MDArray<E,rank>`; byrefs `E<ByRef>`, pointers `E<Pointer>`.
//   - A method is `Type__Sanitize(name)`; methods of one type whose sanitized
//     names collide get `_0`, `_1` … in declaration order (so the first overload
//     has no suffix, and the suffix says nothing about the parameters); an
//     instantiated generic method appends `<Args>`.
//   - The runtime prints the owning type namespace-qualified without
//     instantiation, then `.`, the metadata method name, `[T,U]` for generic
//     methods, and `(Type, Type name)`: short type names (`Func`2`, `Int32[]`,
//     `Int32[,]`, `MethodTable*`, `ReadStack&`, nested `Outer.Inner`), a type
//     variable by its name (`T`, `TKey`), a function pointer as `IntPtr`, and the
//     parameter name when reflection metadata kept it.
//
// Matching therefore never splits a symbol at '_': it computes from the printed
// text what the compiler would have produced and compares, trying every split of
// the printed name into type and method (explicit interface implementations and
// nested types make the split ambiguous), and uses the DWARF parameter types to
// tell overloads apart.
package dotnet

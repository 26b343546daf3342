// Catalogs: an iterator that fails part-way, and a recursive walk.
using System.Runtime.CompilerServices;

namespace MyService.Catalogs;

public sealed class CatalogReader
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public int CountItems(string catalog)
    {
        int count = 0;
        foreach (string item in GetItems(catalog))
            count += item.Length > 0 ? 1 : 0;
        return count;
    }

    IEnumerable<string> GetItems(string catalog)
    {
        for (int line = 1; line <= 4; line++)
        {
            if (line == 3)
                throw new InvalidDataException($"{catalog}: line {line} is not a catalog item.");
            yield return $"{catalog}/{line}";
        }
    }
}

public sealed class Category
{
    public Category(string name, Category? parent)
    {
        Name = name;
        Parent = parent;
    }

    public string Name { get; }
    public Category? Parent { get; }
}

public sealed class CategoryTree
{
    public static Category Chain(int depth)
    {
        // A cycle at the root: walking up never ends, and the walk gives up at MaxDepth.
        Category? c = null;
        for (int i = 0; i < depth; i++)
            c = new Category($"c{i}", c);
        return c!;
    }

    const int MaxDepth = 50;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public int Depth(Category category) => Walk(category, 0);

    [MethodImpl(MethodImplOptions.NoInlining)]
    int Walk(Category category, int level)
    {
        if (level >= MaxDepth)
            throw new InvalidOperationException($"Category {category.Name} is nested deeper than {MaxDepth} levels.");
        if (category.Parent is null)
            return level;
        return 1 + Walk(category.Parent, level + 1);
    }
}

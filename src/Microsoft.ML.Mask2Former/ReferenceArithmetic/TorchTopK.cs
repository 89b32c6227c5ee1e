namespace Microsoft.ML.Mask2Former.ReferenceArithmetic;

/// <summary>
/// <c>torch.topk(largest=True)</c> on CPU, including the order of its unsorted result: PyTorch
/// pairs every value (widened to double) with its index and runs libstdc++'s
/// <c>std::nth_element</c> (introselect) for the k-th element, or <c>std::partial_sort</c> when
/// <c>64·k ≤ n</c>, with a comparator that ranks NaN above everything. Both algorithms are
/// reproduced step for step here, because the references number segments in that order.
/// </summary>
internal static class TorchTopK
{
    private struct Item
    {
        public double Value;
        public int Index;
    }

    private static bool Before(in Item x, in Item y) =>
        (double.IsNaN(x.Value) && !double.IsNaN(y.Value)) || x.Value > y.Value;

    /// <summary>The indices of the <paramref name="k"/> largest values, in PyTorch's order.</summary>
    public static int[] Indices(ReadOnlySpan<float> values, int k, bool sorted)
    {
        var n = values.Length;
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 0 and {n}.");
        var result = new int[k];
        if (k == 0) return result;
        var queue = new Item[n];
        for (var i = 0; i < n; i++) queue[i] = new Item { Value = values[i], Index = i };
        if ((long)k * 64 <= n)
        {
            PartialSort(queue, 0, k, n);
        }
        else
        {
            NthElement(queue, 0, k - 1, n);
            if (sorted) Sort(queue, 0, k - 1);
        }
        for (var i = 0; i < k; i++) result[i] = queue[i].Index;
        return result;
    }

    private static void Swap(Item[] a, int i, int j) => (a[i], a[j]) = (a[j], a[i]);

    private static int Log2(int n) => 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)n);

    private static void NthElement(Item[] a, int first, int nth, int last)
    {
        if (first == last || nth == last) return;
        var depth = Log2(last - first) * 2;
        while (last - first > 3)
        {
            if (depth == 0)
            {
                HeapSelect(a, first, nth + 1, last);
                Swap(a, first, nth);
                return;
            }
            depth--;
            var cut = PartitionPivot(a, first, last);
            if (cut <= nth) first = cut;
            else last = cut;
        }
        InsertionSort(a, first, last);
    }

    private static int PartitionPivot(Item[] a, int first, int last)
    {
        var mid = first + (last - first) / 2;
        MoveMedianToFirst(a, first, first + 1, mid, last - 1);
        return UnguardedPartition(a, first + 1, last, first);
    }

    private static void MoveMedianToFirst(Item[] a, int result, int x, int y, int z)
    {
        if (Before(a[x], a[y]))
        {
            if (Before(a[y], a[z])) Swap(a, result, y);
            else if (Before(a[x], a[z])) Swap(a, result, z);
            else Swap(a, result, x);
        }
        else if (Before(a[x], a[z])) Swap(a, result, x);
        else if (Before(a[y], a[z])) Swap(a, result, z);
        else Swap(a, result, y);
    }

    private static int UnguardedPartition(Item[] a, int first, int last, int pivot)
    {
        while (true)
        {
            while (Before(a[first], a[pivot])) first++;
            last--;
            while (Before(a[pivot], a[last])) last--;
            if (!(first < last)) return first;
            Swap(a, first, last);
            first++;
        }
    }

    private static void InsertionSort(Item[] a, int first, int last)
    {
        if (first == last) return;
        for (var i = first + 1; i != last; i++)
        {
            if (Before(a[i], a[first]))
            {
                var value = a[i];
                Array.Copy(a, first, a, first + 1, i - first);
                a[first] = value;
            }
            else
                UnguardedLinearInsert(a, i);
        }
    }

    // libstdc++'s __unguarded_linear_insert: moves a[i] left past the larger items before it (an
    // item no larger than it is known to stand somewhere to its left).
    private static void UnguardedLinearInsert(Item[] a, int i)
    {
        var value = a[i];
        var hole = i;
        while (Before(value, a[hole - 1]))
        {
            a[hole] = a[hole - 1];
            hole--;
        }
        a[hole] = value;
    }

    // libstdc++'s std::sort: introsort down to blocks of 16, then a final insertion sort.
    private static void Sort(Item[] a, int first, int last)
    {
        if (first == last) return;
        IntroSortLoop(a, first, last, Log2(last - first) * 2);
        if (last - first > 16)
        {
            InsertionSort(a, first, first + 16);
            for (var i = first + 16; i != last; i++) UnguardedLinearInsert(a, i);
        }
        else
        {
            InsertionSort(a, first, last);
        }
    }

    private static void IntroSortLoop(Item[] a, int first, int last, int depth)
    {
        while (last - first > 16)
        {
            if (depth == 0)
            {
                PartialSort(a, first, last, last);
                return;
            }
            depth--;
            var cut = PartitionPivot(a, first, last);
            IntroSortLoop(a, cut, last, depth);
            last = cut;
        }
    }

    private static void PartialSort(Item[] a, int first, int middle, int last)
    {
        HeapSelect(a, first, middle, last);
        // sort_heap
        while (middle - first > 1)
        {
            middle--;
            PopHeap(a, first, middle, middle);
        }
    }

    private static void HeapSelect(Item[] a, int first, int middle, int last)
    {
        MakeHeap(a, first, middle);
        for (var i = middle; i < last; i++)
            if (Before(a[i], a[first])) PopHeap(a, first, middle, i);
    }

    private static void MakeHeap(Item[] a, int first, int last)
    {
        var len = last - first;
        if (len < 2) return;
        var parent = (len - 2) / 2;
        while (true)
        {
            var value = a[first + parent];
            AdjustHeap(a, first, parent, len, value);
            if (parent == 0) return;
            parent--;
        }
    }

    private static void PopHeap(Item[] a, int first, int last, int result)
    {
        var value = a[result];
        a[result] = a[first];
        AdjustHeap(a, first, 0, last - first, value);
    }

    private static void AdjustHeap(Item[] a, int first, int hole, int len, Item value)
    {
        var top = hole;
        var child = hole;
        while (child < (len - 1) / 2)
        {
            child = 2 * (child + 1);
            if (Before(a[first + child], a[first + child - 1])) child--;
            a[first + hole] = a[first + child];
            hole = child;
        }
        if ((len & 1) == 0 && child == (len - 2) / 2)
        {
            child = 2 * (child + 1);
            a[first + hole] = a[first + child - 1];
            hole = child - 1;
        }
        // push_heap
        var parent = (hole - 1) / 2;
        while (hole > top && Before(a[first + parent], value))
        {
            a[first + hole] = a[first + parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        a[first + hole] = value;
    }
}

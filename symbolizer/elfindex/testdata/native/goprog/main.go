// Command goprog is a Go program for the index tests: methods, generics,
// closures, goroutines and inlined helpers.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

type Shape interface {
	Area() float64
	Name() string
}

type Rect struct{ W, H float64 }

func (r Rect) Area() float64 { return r.W * r.H }
func (r Rect) Name() string  { return fmt.Sprintf("rect %gx%g", r.W, r.H) }

type Poly struct{ X, Y []float64 }

func (p *Poly) Area() float64 {
	s := 0.0
	for i := range p.X {
		j := (i + 1) % len(p.X)
		s += p.X[i]*p.Y[j] - p.Y[i]*p.X[j]
	}
	if s < 0 {
		s = -s
	}
	return s / 2
}

func (p *Poly) Name() string { return "poly" }

type Number interface{ ~int | ~float64 }

func Sum[T Number](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

var errEmpty = errors.New("empty")

func parse(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errEmpty
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		var v int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil {
			return nil, fmt.Errorf("bad number %q: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func parallelAreas(shapes []Shape) []float64 {
	out := make([]float64, len(shapes))
	var wg sync.WaitGroup
	for i, s := range shapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.Area()
		}()
	}
	wg.Wait()
	return out
}

func main() {
	shapes := []Shape{Rect{3, 4}, &Poly{X: []float64{0, 4, 4}, Y: []float64{0, 0, 3}}}
	areas := parallelAreas(shapes)
	names := Map(shapes, func(s Shape) string { return s.Name() })
	sort.Strings(names)
	in := "3, 1, 2"
	if len(os.Args) > 1 {
		in = os.Args[1]
	}
	nums, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sort.Ints(nums)
	fmt.Println(Sum(areas), names, Sum(nums), Map(nums, func(v int) float64 { return float64(v) / 2 }))
}

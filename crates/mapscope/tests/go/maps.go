// A small Go 1.19 program whose binary has map[int64]int64 (fast64 variants),
// string keys (faststr) and an indirect elem (> 128 bytes).
package main

import "fmt"

type Big struct{ a [200]byte }

func main() {
	m := map[int64]int64{}
	for i := int64(0); i < 100; i++ {
		m[i] = i * 2
	}
	s := map[string]int{"a": 1}
	b := map[int32]Big{1: {}}
	delete(m, 3)
	n := 0
	for range m {
		n++
	}
	fmt.Println(len(m), len(s), len(b), n, m[5])
}

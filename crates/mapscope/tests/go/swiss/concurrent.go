//go:build ignore

// Two goroutines write one map with no lock, until Go's runtime notices and dies with
// "fatal error: concurrent map writes" (exit status 2). Each writer is locked to its own OS
// thread, so that a debugger stopping at the fatal error finds both writers in map code.
//
// Build: go build -o concurrent concurrent.go
package main

import (
	"fmt"
	"runtime"
	"sync"
)

func writer(m map[int64]int64, base int64, n int, wg *sync.WaitGroup) {
	defer wg.Done()
	runtime.LockOSThread()
	for i := int64(0); i < int64(n); i++ {
		m[base+i%4096] = i
	}
}

func main() {
	m := make(map[int64]int64)
	var wg sync.WaitGroup
	wg.Add(2)
	go writer(m, 0, 1_000_000, &wg)
	go writer(m, 1<<20, 1_000_000, &wg)
	wg.Wait()
	fmt.Printf("concurrent: no fatal error; %d entries\n", len(m))
}

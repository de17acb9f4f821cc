//go:build ignore

// Swiss-table maps (Go 1.24 and later) at the moments a debugger must print exactly: a map
// with no group yet, a small map (one group, no directory), a map grown into several tables,
// a directory whose entries share tables, tables with tombstones, and a range loop during
// which a table grows. One goroutine; the program stops at main.checkpoint (never inlined)
// at each moment.
//
// At every checkpoint it prints its own truth to stdout, taken from a shadow it keeps beside
// the map (never from the map):
//
//	checkpoint ID LABEL: used=N dirLen=D tables=T tombstones=S
//	{k: v, ...}            (the true contents of m, sorted by key)
//
// dirLen, tables and tombstones are the program's view of its own map through mapHeader and
// tableHeader below (the first fields of the runtime's Map and table, in their declared
// order): the program uses them to steer into the states it wants (shared directory
// entries, tombstones), and prints them so that a debugger's decoding can be compared. It
// also checks, with the map's own iteration and lookups, that the map holds exactly the
// shadow's contents, and exits 1 with one line if not.
//
// Build: go build -gcflags=all='-N -l' -o checkpoints checkpoints.go
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"unsafe"
)

// Big is over 128 bytes: a map stores such elems indirectly (a pointer in the slot).
type Big struct {
	Tag  string
	Fill [40]int32
}

// The program's view of the first fields of its map's header and tables.
type mapHeader struct {
	used   uint64
	seed   uintptr
	dirPtr unsafe.Pointer
	dirLen int
}

type tableHeader struct {
	used       uint16
	capacity   uint16
	growthLeft uint16
	localDepth uint8
}

// Values are a function of the key, so that the truth is the set of keys.
func value(k int64) int64 { return k*10 + 1 }

type shadow map[int64]bool

// checkpoint is where a debugger stops: it only keeps its arguments alive.
//
//go:noinline
func checkpoint(id int, label string, m map[int64]int64, other map[int64]int64, names map[string]Big) {
	keep = append(keep, m, other)
	keepNames = names
}

var (
	keep      []map[int64]int64
	keepNames map[string]Big
)

// view is what the map's own header and tables say: directory length, distinct tables,
// tombstones (slots a table counts as used up but holds no entry in).
func view(m map[int64]int64) (used uint64, dirLen, tables, tombstones int) {
	h := *(**mapHeader)(unsafe.Pointer(&m))
	if h == nil {
		return 0, 0, 0, 0
	}
	used, dirLen = h.used, h.dirLen
	seen := map[unsafe.Pointer]bool{}
	for i := 0; i < h.dirLen; i++ {
		t := *(*unsafe.Pointer)(unsafe.Add(h.dirPtr, i*int(unsafe.Sizeof(uintptr(0)))))
		if seen[t] {
			continue
		}
		seen[t] = true
		th := (*tableHeader)(t)
		tombstones += int(th.capacity)*7/8 - int(th.used) - int(th.growthLeft)
	}
	return used, dirLen, len(seen), tombstones
}

func check(m map[int64]int64, s shadow) {
	if len(m) != len(s) {
		fail("len(m) = %d, the shadow has %d", len(m), len(s))
	}
	for k, v := range m {
		if !s[k] || v != value(k) {
			fail("m[%d] = %d is not in the shadow", k, v)
		}
	}
	for k := range s {
		if v, ok := m[k]; !ok || v != value(k) {
			fail("m[%d] is missing", k)
		}
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "checkpoints: "+format+"\n", args...)
	os.Exit(1)
}

func report(id int, label string, m map[int64]int64, s shadow) {
	used, dirLen, tables, tombstones := view(m)
	fmt.Printf("checkpoint %d %s: used=%d dirLen=%d tables=%d tombstones=%d\n", id, label, used, dirLen, tables, tombstones)
	keys := make([]int64, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d: %d", k, value(k))
	}
	fmt.Printf("{%s}\n", strings.Join(parts, ", "))
}

func main() {
	m := make(map[int64]int64)
	other := make(map[int64]int64)
	names := map[string]Big{}
	s := shadow{}
	put := func(k int64) {
		m[k] = value(k)
		s[k] = true
	}
	del := func(k int64) {
		delete(m, k)
		delete(s, k)
	}
	at := func(id int, label string) {
		check(m, s)
		report(id, label, m, s)
		checkpoint(id, label, m, other, names)
	}

	at(1, "empty")

	for k := int64(0); k < 5; k++ {
		put(k)
		other[-k] = k
	}
	names["small"] = Big{Tag: "one group"}
	at(2, "small")

	for k := int64(5); k < 3000; k++ {
		put(k)
	}
	for k := int64(0); k < 40; k++ {
		names[fmt.Sprintf("key-%02d", k)] = Big{Tag: fmt.Sprint(k), Fill: [40]int32{int32(k)}}
	}
	at(3, "tables")

	// Grow until some directory entries share a table (a table whose local depth is below the
	// directory's global depth).
	next := int64(3000)
	for {
		_, dirLen, tables, _ := view(m)
		if tables < dirLen {
			break
		}
		put(next)
		next++
	}
	at(4, "shared")

	// Delete until some table holds tombstones (a deleted slot in a group that has no empty
	// slot left), and a few more.
	for k := int64(1); k < next; k += 3 {
		del(k)
		if _, _, _, tombstones := view(m); tombstones > 20 {
			break
		}
	}
	at(5, "tombstones")

	// A range loop that sees a grow: the first iteration adds keys until a table has been
	// replaced (grown or split), then stops at a checkpoint while the iterator still holds
	// the old table.
	seen := 0
	for range m {
		if seen == 0 {
			_, before, tablesBefore, _ := view(m)
			for {
				put(next)
				next++
				if _, dirLen, tables, _ := view(m); dirLen != before || tables != tablesBefore {
					break
				}
				if next > 1_000_000 {
					fail("no table grew")
				}
			}
			// Grow some more, so that several tables have been replaced.
			for i := 0; i < 2000; i++ {
				put(next)
				next++
			}
			at(6, "range-grow")
		}
		seen++
	}
	at(7, "end")
}

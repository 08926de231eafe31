// Package gort holds the benchmarks the harness compares with the kernel's
// that Go's own test binaries lack (see harness/src/go.rs). Go's runtime
// package has no benchmark of a plain runtime.Gosched round trip, nor one
// that grows a stack on every op, so they are written here; the harness
// builds this package's test binary, gort.test, and runs it in the Linux
// guest and natively exactly like runtime.test.
//
// Each benchmark has a twin in the kernel with the same name and body
// (bench=Gosched mirrors BenchmarkGosched), which prints "pkg: gort" before
// its result so the harness knows to run this binary.
package gort

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// padData and stackGrowthRecursive are runtime/proc_test.go's, unchanged:
// copy 1 KiB into the frame, scan it, recurse.
var padData [128]uint64

func stackGrowthRecursive(i int) {
	var pad [128]uint64
	pad = padData
	for j := range pad {
		if pad[j] != 0 {
			return
		}
	}
	if i != 0 {
		stackGrowthRecursive(i - 1)
	}
}

// benchmarkStackGrowthNewG is runtime's benchmarkStackGrowth with the
// recursion moved into a new goroutine per op, so that every op grows a
// stack. runtime.BenchmarkStackGrowth does not: each RunParallel goroutine
// grows its stack on its first op and keeps it. A goroutine here starts on
// a fresh 8 KiB stack (gfput frees a dead goroutine's grown stack, and the
// forced GC before each run finds no deep stacks to raise the adaptive
// starting size), and each op's recursion grows it by copying it at every
// doubling; the op also pays a goroutine start and an unbuffered handoff
// (runtime.BenchmarkCreateGoroutines measures those alone).
func benchmarkStackGrowthNewG(b *testing.B, rec int) {
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan bool)
		for pb.Next() {
			go func() {
				stackGrowthRecursive(rec)
				done <- true
			}()
			<-done
		}
	})
}

// BenchmarkStackGrowthNewG: 11 frames of 1,048 bytes (10 levels), about
// 11.5 KiB: one copy, from 8 to 16 KiB.
func BenchmarkStackGrowthNewG(b *testing.B) {
	benchmarkStackGrowthNewG(b, 10)
}

// BenchmarkStackGrowthDeepNewG: 1,025 frames of 1,048 bytes (1024 levels),
// just over 1 MiB: eight copies, from 8 KiB to 2 MiB.
func BenchmarkStackGrowthDeepNewG(b *testing.B) {
	benchmarkStackGrowthNewG(b, 1024)
}

// BenchmarkGosched: a yield round trip. The benchmark goroutine calls
// runtime.Gosched b.N times while one partner goroutine does the same until told
// to stop, so each call switches to the partner and back when they share a P.
func BenchmarkGosched(b *testing.B) {
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
			runtime.Gosched()
		}
		close(done)
	}()
	for i := 0; i < b.N; i++ {
		runtime.Gosched()
	}
	stop.Store(true)
	<-done
}

// BenchmarkAtomicCASAdd: a control for the emulation, not the runtime: the
// two atomic instructions of an uncontended sync.Mutex Lock/Unlock pair
// (LOCK CMPXCHG, LOCK XADD) on a stack word, with no runtime code around
// them. The kernel's twin runs the same instructions, so the ratio shows
// what the emulated guest itself charges each side for them.
func BenchmarkAtomicCASAdd(b *testing.B) {
	var x int32
	for i := 0; i < b.N; i++ {
		atomic.CompareAndSwapInt32(&x, 0, 1)
		atomic.AddInt32(&x, -1)
	}
}

// mallocParallel: under RunParallel, each goroutine allocates objects of
// type T into a batch of 64 pointers, overwriting the batch's previous
// pointers (garbage now), and swaps each full batch with the one in a
// shared slot, continuing on the batch another goroutine filled. So most
// objects become garbage on another goroutine than the one that allocated
// them: in the kernel's twin they are freed there, mostly on another P (a
// remote free), which is what the per-P caches must do without a lock.
func mallocParallel[T any](b *testing.B) {
	var slot atomic.Pointer[[64]*T]
	b.RunParallel(func(pb *testing.PB) {
		batch := new([64]*T)
		n := 0
		for pb.Next() {
			batch[n] = new(T)
			n++
			if n == len(batch) {
				if other := slot.Swap(batch); other != nil {
					batch = other
				} else {
					batch = new([64]*T)
				}
				n = 0
			}
		}
	})
}

// BenchmarkMallocParallel8: mallocParallel with 8-byte objects.
func BenchmarkMallocParallel8(b *testing.B) { mallocParallel[[8]byte](b) }

// BenchmarkMallocParallel64: mallocParallel with 64-byte objects.
func BenchmarkMallocParallel64(b *testing.B) { mallocParallel[[64]byte](b) }

// Package gort holds the benchmarks the harness compares with the kernel's
// that Go's own test binaries lack (see harness/src/go.rs). Go's runtime
// package has no benchmark of a plain runtime.Gosched round trip, so it is
// written here; the harness builds this package's test binary, gort.test, and
// runs it in the Linux guest and natively exactly like runtime.test.
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

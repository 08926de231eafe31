//! Host tests of channels and `select!` on the mock machine.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::vec::Vec;

use super::*;
use crate::sched::mock::run;
use crate::sched::tests::serial;
use crate::sched::{go, num_goroutine, WaitGroup};

#[test]
fn unbuffered_hands_values_over_in_order() {
    let _s = serial();
    let got = run(|| {
        let c = Chan::<u64>::new(0);
        let tx = c.clone();
        go(move || {
            for i in 0..1000 {
                tx.send(i);
            }
            tx.close();
        });
        c.iter().collect::<Vec<_>>()
    });
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

#[test]
fn buffered_is_fifo_and_reports_len_and_cap() {
    let _s = serial();
    let (lens, got, after) = run(|| {
        let c = Chan::<String>::new(3);
        let mut lens = Vec::new();
        for s in ["a", "b", "c"] {
            c.send(s.to_string());
            lens.push(c.len());
        }
        assert_eq!(c.try_send("d".to_string()), Err("d".to_string()), "a full buffer must refuse");
        let got: Vec<String> = (0..3).map(|_| c.recv().unwrap()).collect();
        (lens, got, (c.len(), c.cap()))
    });
    assert_eq!(lens, vec![1, 2, 3]);
    assert_eq!(got, vec!["a", "b", "c"]);
    assert_eq!(after, (0, 3));
}

#[test]
fn close_drains_buffer_then_reports_closed_and_wakes_every_receiver() {
    let _s = serial();
    let (buffered, woken) = run(|| {
        let c = Chan::<u32>::new(2);
        c.send(7);
        c.send(8);
        c.close();
        let buffered = (c.recv(), c.recv(), c.recv(), c.try_recv());
        // Receivers blocked on an unbuffered channel all see the close.
        let u = Chan::<u32>::new(0);
        let closed = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        wg.add(10);
        for _ in 0..10 {
            let (u, closed, wg) = (u.clone(), closed.clone(), wg.clone());
            go(move || {
                if u.recv().is_none() {
                    closed.fetch_add(1, Ordering::Relaxed);
                }
                wg.done();
            });
        }
        while num_goroutine() < 11 {
            crate::sched::gosched();
        }
        u.close();
        wg.wait();
        (buffered, closed.load(Ordering::Relaxed))
    });
    assert_eq!(buffered, (Some(7), Some(8), None, Err(TryRecvError::Closed)));
    assert_eq!(woken, 10);
}

#[test]
#[should_panic(expected = "close of closed channel")]
fn closing_twice_panics() {
    let c = Chan::<u8>::new(1);
    c.close();
    c.close();
}

#[test]
#[should_panic(expected = "send on closed channel")]
fn sending_on_a_closed_channel_panics() {
    let c = Chan::<u8>::new(1);
    c.close();
    let _ = c.try_send(1);
}

#[test]
#[should_panic(expected = "close of nil channel")]
fn closing_nil_panics() {
    Chan::<u8>::nil().close();
}

#[test]
fn try_operations_never_block() {
    let c = Chan::<u8>::new(0);
    assert_eq!(c.try_send(1), Err(1), "no receiver waits");
    assert_eq!(c.try_recv(), Err(TryRecvError::Empty));
    let n = Chan::<u8>::nil();
    assert_eq!(n.try_send(1), Err(1));
    assert_eq!(n.try_recv(), Err(TryRecvError::Empty));
    assert_eq!((n.len(), n.cap(), n.is_nil()), (0, 0, true));
}

#[test]
fn buffered_values_are_dropped_with_the_channel() {
    let token = Arc::new(());
    {
        let c = Chan::<Arc<()>>::new(4);
        for _ in 0..3 {
            c.try_send(token.clone()).unwrap();
        }
        assert_eq!(Arc::strong_count(&token), 4);
    }
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn zero_sized_values_flow() {
    let _s = serial();
    let n = run(|| {
        let c = Chan::<()>::new(5);
        let u = Chan::<()>::new(0);
        let (c2, u2) = (c.clone(), u.clone());
        go(move || {
            for _ in 0..100 {
                u2.send(());
            }
            for _ in 0..100 {
                c2.send(());
            }
            c2.close();
        });
        for _ in 0..100 {
            u.recv().unwrap();
        }
        let mut n = 0;
        for () in &c {
            n += 1;
        }
        n
    });
    assert_eq!(n, 100);
}

#[test]
fn select_evaluates_each_case_once_in_source_order() {
    use std::sync::Mutex;
    let _s = serial();
    let (log, got) = run(|| {
        let log = Mutex::new(Vec::new());
        let note = |what: &'static str| log.lock().unwrap().push(what);
        let a = Chan::<u32>::new(0);
        let b = Chan::<u32>::new(0);
        let c = Chan::<u32>::new(0);
        let late = c.clone();
        go(move || {
            crate::sched::sleep(2_000_000); // the select has parked by now, or soon will
            late.send(9);
        });
        // Blocks, parks on all three, wakes on `c`: nothing is evaluated again.
        let got = crate::select! {
            recv({ note("chan a"); &a }) -> v => v,
            send({ note("chan b"); &b }, { note("value b"); 1 }) => None,
            recv({ note("chan c"); &c }) -> v => v,
        };
        (log.into_inner().unwrap(), got)
    });
    assert_eq!(log, ["chan a", "chan b", "value b", "chan c"]);
    assert_eq!(got, Some(9));
}

#[test]
fn select_takes_a_ready_case_or_the_default() {
    let _s = serial();
    let (first, second, third) = run(|| {
        let a = Chan::<u32>::new(1);
        let b = Chan::<u32>::new(1);
        b.send(5);
        let first = crate::select! {
            recv(a) -> v => ("a", v),
            recv(b) -> v => ("b", v),
            default => ("default", None),
        };
        let second = crate::select! {
            recv(a) -> v => ("a", v),
            recv(b) -> v => ("b", v),
            default => ("default", None),
        };
        let third = crate::select! {
            send(a, 9) => "sent",
            default => "full",
        };
        (first, second, third)
    });
    assert_eq!(first, ("b", Some(5)));
    assert_eq!(second, ("default", None));
    assert_eq!(third, "sent");
}

#[test]
fn select_chooses_uniformly_among_ready_cases() {
    let _s = serial();
    let counts = run(|| {
        let chans: Vec<Chan<u8>> = (0..3).map(|_| Chan::new(1)).collect();
        let mut counts = [0u32; 3];
        for _ in 0..6000 {
            for c in &chans {
                let _ = c.try_send(0);
            }
            let k = crate::select! {
                recv(chans[0]) -> _v => 0,
                recv(chans[1]) -> _v => 1,
                recv(chans[2]) -> _v => 2,
            };
            counts[k] += 1;
        }
        counts
    });
    for c in counts {
        assert!((1700..2300).contains(&c), "not uniform: {counts:?}");
    }
}

#[test]
fn a_blocked_select_wakes_once_and_withdraws_its_other_cases() {
    let _s = serial();
    let (got, stale) = run(|| {
        let a = Chan::<u32>::new(0);
        let b = Chan::<u32>::new(0);
        let (a2, b2) = (a.clone(), b.clone());
        let done = Chan::<(&'static str, Option<u32>)>::new(1);
        let d2 = done.clone();
        go(move || {
            let r = crate::select! {
                recv(a2) -> v => ("a", v),
                recv(b2) -> v => ("b", v),
            };
            d2.send(r);
        });
        // Wait until the select is parked on both channels, then fire one.
        while a.hchan().unwrap().recvq.is_empty() || b.hchan().unwrap().recvq.is_empty() {
            crate::sched::gosched();
        }
        b.send(42);
        let got = done.recv().unwrap();
        // The losing case's sudog is gone: nobody receives on `a` now.
        (got, a.try_send(1))
    });
    assert_eq!(got, ("b", Some(42)));
    assert_eq!(stale, Err(1));
}

#[test]
fn select_with_send_and_receive_on_one_channel_pairs_with_peers() {
    let _s = serial();
    let (sent, received) = run(|| {
        let c = Chan::<u32>::new(0);
        let sent = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        wg.add(4);
        for g in 0..4 {
            let (c, sent, received, wg) = (c.clone(), sent.clone(), received.clone(), wg.clone());
            go(move || {
                for i in 0..200 {
                    crate::select! {
                        send(c, g * 1000 + i) => { sent.fetch_add(1, Ordering::Relaxed); },
                        recv(c) -> v => { assert!(v.is_some()); received.fetch_add(1, Ordering::Relaxed); },
                    }
                }
                wg.done();
            });
        }
        // A helper receives what no peer is left to take, until told to stop.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let helper_done = Arc::new(WaitGroup::new());
        let (c2, stop2) = (c.clone(), stop.clone());
        helper_done.go(move || {
            while !stop2.load(Ordering::Relaxed) {
                crate::select! {
                    recv(c2) -> _v => {},
                    default => crate::sched::gosched(),
                }
            }
        });
        wg.wait();
        stop.store(true, Ordering::Relaxed);
        helper_done.wait();
        (sent.load(Ordering::Relaxed), received.load(Ordering::Relaxed))
    });
    assert_eq!(sent + received, 800);
    assert!(sent >= received, "every receive pairs with a send ({sent} sent, {received} received)");
}

#[test]
fn select_on_nil_channels_only_takes_default() {
    let _s = serial();
    let r = run(|| {
        let n = Chan::<u8>::nil();
        crate::select! {
            recv(n) -> _v => "recv",
            send(n, 1) => "send",
            default => "default",
        }
    });
    assert_eq!(r, "default");
}

#[test]
fn unsent_select_values_are_dropped() {
    let token = Arc::new(());
    let full = Chan::<Arc<()>>::new(0);
    let r = crate::select! {
        send(full, token.clone()) => "sent",
        default => "default",
    };
    assert_eq!(r, "default");
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn many_producers_and_consumers_deliver_everything_once_in_order_per_producer() {
    let _s = serial();
    let per_consumer = run(|| {
        const P: u64 = 6;
        const PER: u64 = 500;
        let c = Chan::<(u64, u64)>::new(8);
        let out = Chan::<Vec<(u64, u64)>>::new(4);
        let producers = Arc::new(WaitGroup::new());
        producers.add(P as i64);
        for p in 0..P {
            let (c, producers) = (c.clone(), producers.clone());
            go(move || {
                for i in 0..PER {
                    c.send((p, i));
                }
                producers.done();
            });
        }
        let closer = c.clone();
        go(move || {
            producers.wait();
            closer.close();
        });
        for _ in 0..4 {
            let (c, out) = (c.clone(), out.clone());
            go(move || out.send(c.iter().collect()));
        }
        (0..4).map(|_| out.recv().unwrap()).collect::<Vec<Vec<(u64, u64)>>>()
    });
    let mut seen = std::collections::HashSet::new();
    for got in &per_consumer {
        let mut last = [None::<u64>; 6];
        for &(p, i) in got {
            assert!(seen.insert((p, i)), "({p}, {i}) delivered twice");
            assert!(last[p as usize].is_none_or(|l| l < i), "producer {p} out of order");
            last[p as usize] = Some(i);
        }
    }
    assert_eq!(seen.len(), 6 * 500, "values lost");
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// Preloaded into every process of the ThreadSanitizer pass (tests/meson.build's 'tsan' setup):
// tells TSan about the ordering that GLib's and GStreamer's synchronisation gives. Debian's GLib
// is not instrumented and its GMutex and GCond are futexes, GThreadPool and GAsyncQueue hand
// data over through them, and GstMiniObject refcounts are atomics in uninstrumented code, so
// TSan sees none of it and reports each buffer that one thread fills and another reads. These
// wrappers forward to the real functions and add the acquire/release that TSan cannot see.
//
// Built without -fsanitize=thread: in a process that is not instrumented (python3, node, bash,
// Chromium) the weak __tsan_* symbols are null and the wrappers only forward. Calls inside GLib
// itself bypass the PLT and so these wrappers; the calls that matter here cross libraries.

#include <dlfcn.h>

extern "C" {
void __tsan_acquire(void* addr) __attribute__((weak));
void __tsan_release(void* addr) __attribute__((weak));
}

namespace {

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
void acquire(void* p) {
  if (__tsan_acquire) __tsan_acquire(p);
}
void release(void* p) {
  if (__tsan_release) __tsan_release(p);
}

using Func = void (*)(void* data, void* user_data);
struct PoolFunc {
  Func func;
  void* user_data;
};
// A pool thread takes the item pushed by g_thread_pool_push() below.
void pool_trampoline(void* data, void* pool_func) {
  acquire(data);
  auto* p = static_cast<PoolFunc*>(pool_func);
  p->func(data, p->user_data);
}

}  // namespace

// GLib's own types are opaque pointers here: this file must not need GLib's headers or library.
extern "C" {

void g_mutex_lock(void* m) {
  static const auto f = next<void (*)(void*)>("g_mutex_lock");
  f(m);
  acquire(m);
}
void g_mutex_unlock(void* m) {
  static const auto f = next<void (*)(void*)>("g_mutex_unlock");
  release(m);
  f(m);
}
int g_mutex_trylock(void* m) {
  static const auto f = next<int (*)(void*)>("g_mutex_trylock");
  const int locked = f(m);
  if (locked) acquire(m);
  return locked;
}
void g_cond_wait(void* c, void* m) {
  static const auto f = next<void (*)(void*, void*)>("g_cond_wait");
  release(m);
  f(c, m);
  acquire(m);
}
int g_cond_wait_until(void* c, void* m, long long end_time) {
  static const auto f = next<int (*)(void*, void*, long long)>("g_cond_wait_until");
  release(m);
  const int signalled = f(c, m, end_time);
  acquire(m);
  return signalled;
}

void g_async_queue_push(void* q, void* data) {
  static const auto f = next<void (*)(void*, void*)>("g_async_queue_push");
  release(q);
  f(q, data);
}
void g_async_queue_push_unlocked(void* q, void* data) {
  static const auto f = next<void (*)(void*, void*)>("g_async_queue_push_unlocked");
  release(q);
  f(q, data);
}
void* g_async_queue_pop(void* q) {
  static const auto f = next<void* (*)(void*)>("g_async_queue_pop");
  void* data = f(q);
  acquire(q);
  return data;
}
void* g_async_queue_pop_unlocked(void* q) {
  static const auto f = next<void* (*)(void*)>("g_async_queue_pop_unlocked");
  void* data = f(q);
  acquire(q);
  return data;
}
void* g_async_queue_try_pop(void* q) {
  static const auto f = next<void* (*)(void*)>("g_async_queue_try_pop");
  void* data = f(q);
  acquire(q);
  return data;
}
void* g_async_queue_timeout_pop(void* q, unsigned long long timeout) {
  static const auto f = next<void* (*)(void*, unsigned long long)>("g_async_queue_timeout_pop");
  void* data = f(q, timeout);
  acquire(q);
  return data;
}

// One PoolFunc per pool, kept for the process: pools are few and long-lived (GstTaskPool's).
void* g_thread_pool_new(Func func, void* user_data, int max_threads, int exclusive, void** error) {
  static const auto f = next<void* (*)(Func, void*, int, int, void**)>("g_thread_pool_new");
  return f(pool_trampoline, new PoolFunc{func, user_data}, max_threads, exclusive, error);
}
int g_thread_pool_push(void* pool, void* data, void** error) {
  static const auto f = next<int (*)(void*, void*, void**)>("g_thread_pool_push");
  release(data);
  return f(pool, data, error);
}

// The last unref frees what other threads wrote before theirs (an acq_rel decrement).
void gst_mini_object_unref(void* obj) {
  static const auto f = next<void (*)(void*)>("gst_mini_object_unref");
  release(obj);
  acquire(obj);
  f(obj);
}

}  // extern "C"

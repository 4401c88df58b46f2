// SPDX-License-Identifier: LGPL-2.1-or-later
// A plain-HTTP object store on loopback (libsoup's server on its own thread), for segment URIs:
// GET /<name> answers what put() stored; a name starting with "slow" never answers (until the
// store stops), for download deadlines. It counts the requests that reached it.
#pragma once

#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace lp::test {

class ObjectStore {
 public:
  ObjectStore() {
    thread_ = std::thread([this] { run(); });
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return port_ != 0; });
  }
  ~ObjectStore() {
    g_main_context_invoke(
        context_,
        [](gpointer loop) -> gboolean {
          g_main_loop_quit(static_cast<GMainLoop*>(loop));
          return G_SOURCE_REMOVE;
        },
        loop_);
    thread_.join();
  }
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  void put(const std::string& name, std::string bytes) {
    std::lock_guard lock(mu_);
    objects_[name] = std::move(bytes);
  }
  std::string url(const std::string& name) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }
  int requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void run() {
    context_ = g_main_context_new();
    g_main_context_push_thread_default(context_);
    loop_ = g_main_loop_new(context_, FALSE);
    SoupServer* server = soup_server_new(nullptr, nullptr);
    soup_server_add_handler(server, "/", on_get, this, nullptr);
    GError* err = nullptr;
    EXPECT_TRUE(soup_server_listen_local(server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &err))
        << (err ? err->message : "");
    g_clear_error(&err);
    GSList* uris = soup_server_get_uris(server);
    {
      std::lock_guard lock(mu_);
      port_ = uris ? g_uri_get_port(static_cast<GUri*>(uris->data)) : -1;
    }
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
    cv_.notify_all();
    g_main_loop_run(loop_);
    soup_server_disconnect(server);
    g_object_unref(server);
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_loop_unref(loop_);
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
  }

  static void on_get(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                     gpointer data) {
    auto* self = static_cast<ObjectStore*>(data);
    const std::string name = path && *path == '/' ? path + 1 : "";
    std::lock_guard lock(self->mu_);
    ++self->requests_;
    if (name.rfind("slow", 0) == 0) {
      soup_server_message_pause(msg);  // no answer until the store stops
      return;
    }
    auto it = self->objects_.find(name);
    if (it == self->objects_.end()) {
      soup_server_message_set_status(msg, 404, nullptr);
      return;
    }
    soup_server_message_set_status(msg, 200, nullptr);
    soup_server_message_set_response(msg, "video/MP2T", SOUP_MEMORY_COPY, it->second.data(),
                                     it->second.size());
  }

  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int port_ = 0;                                // guarded by mu_ until started
  std::map<std::string, std::string> objects_;  // guarded by mu_
  int requests_ = 0;                            // guarded by mu_
};

}  // namespace lp::test

#include "netd/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <cerrno>
#include <cstring>
#include <thread>
#include <variant>

#include "common/log.h"

namespace netd {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using json = nlohmann::ordered_json;  // replies keep the order their keys were given in

namespace {
constexpr auto kRequestTimeout = std::chrono::seconds(5);
}

struct ApiServer::Impl {
  ApiServerOptions opts;
  asio::io_context io;
  stream_protocol::acceptor acceptor{io};
  portfwd::ForwardRegistry registry;
  std::thread thread;

  struct Session : std::enable_shared_from_this<Session> {
    Impl& srv;
    stream_protocol::socket sock;
    asio::steady_timer timer;
    std::string buf;
    std::array<char, 4096> chunk{};
    bool answered = false;
    Session(Impl& s, stream_protocol::socket so) : srv(s), sock(std::move(so)), timer(s.io) {}

    void start() {
      auto self = shared_from_this();
      timer.expires_after(kRequestTimeout);
      timer.async_wait([self](const boost::system::error_code& ec) {
        if (ec || self->answered) return;
        if (self->buf.empty()) {
          boost::system::error_code ignore;
          self->sock.close(ignore);
        } else {
          self->reply(portfwd::error_reply("bad request: incomplete request (timed out)"));
        }
      });
      read();
    }

    void read() {
      auto self = shared_from_this();
      sock.async_read_some(asio::buffer(chunk), [self](const boost::system::error_code& ec, size_t n) {
        if (self->answered) return;
        self->buf.append(self->chunk.data(), n);
        if (self->buf.size() > self->srv.opts.defaults.max_size) {
          return self->reply(portfwd::error_reply("bad request: request larger than " +
                                                  std::to_string(self->srv.opts.defaults.max_size) + " bytes"));
        }
        bool eof = ec == asio::error::eof;
        if (ec && !eof) {
          boost::system::error_code ignore;
          self->sock.close(ignore);
          return;
        }
        auto st = portfwd::classify_request(self->buf);
        if (st == portfwd::RequestStatus::Incomplete && !eof) return self->read();
        self->timer.cancel();  // the request is whole (an add may use the timer to wait for its port)
        self->srv.handle(self);
      });
    }

    void reply(std::string text) {
      if (answered) return;
      answered = true;
      timer.cancel();
      auto self = shared_from_this();
      auto out = std::make_shared<std::string>(std::move(text));
      asio::async_write(sock, asio::buffer(*out), [self, out](const boost::system::error_code&, size_t) {
        boost::system::error_code ignore;
        self->sock.shutdown(stream_protocol::socket::shutdown_both, ignore);
        self->sock.close(ignore);
      });
    }
  };

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, stream_protocol::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(*this, std::move(s))->start();
      accept();
    });
  }

  // Runs `fn` (returns Expected<std::string reply, std::string error>) on the
  // backend thread, then replies from the control thread.
  template <class Fn, class Done>
  void on_backend(const std::shared_ptr<Session>& s, Fn fn, Done done) {
    auto* backend = opts.backend;
    backend->queue().post([this, s, fn, done]() mutable {
      auto r = fn();
      asio::post(io, [s, r = std::move(r), done]() mutable { done(s, std::move(r)); });
    });
  }

  // An add, pending in the registry: binds its host socket here; while the
  // port is in use, tries again on the session's timer (`backoff`: null
  // before the first attempt) until the wait is over; then hands the socket
  // to the backend.
  void open_then_add(const std::shared_ptr<Session>& s, const portfwd::Forward& fwd,
                     std::shared_ptr<portfwd::HandoverBackoff> backoff) {
    auto* backend = opts.backend;
    auto fail = [this, &s, &fwd](const std::string& message) {
      registry.abandon(fwd.id);
      s->reply(portfwd::error_reply("add_hostfwd: " + message));
    };
    errno = 0;
    auto sock = backend->open(fwd);
    if (!sock && errno == EADDRINUSE) {
      const bool first = !backoff;
      if (first) backoff = std::make_shared<portfwd::HandoverBackoff>(opts.handover_wait);
      auto pause = backoff->next();
      if (!pause)
        return fail(portfwd::port_in_use_error(sock.error(), fwd.host_addr, fwd.host_port, fwd.proto,
                                               backoff->max_wait()));
      if (first) {
        const std::string holder = portfwd::describe_port_holder(fwd.host_addr, fwd.host_port, fwd.proto);
        LOG_WARN("api: add_hostfwd: %s",
                 portfwd::port_wait_note(fwd.host_addr, fwd.host_port, fwd.proto, holder, backoff->max_wait()).c_str());
      }
      s->timer.expires_after(*pause);
      s->timer.async_wait([this, s, fwd, backoff](const boost::system::error_code& ec) {
        if (!ec) open_then_add(s, fwd, backoff);
      });
      return;
    }
    if (!sock) return fail(sock.error());
    if (backoff) {
      LOG_WARN("api: add_hostfwd: %s",
               portfwd::port_taken_note(fwd.host_addr, fwd.host_port, fwd.proto, backoff->waited()).c_str());
    }
    // (a closure on the queue must be copyable: the socket rides in a shared_ptr)
    auto held = std::make_shared<UniqueFd>(std::move(*sock));
    on_backend(
        s, [backend, fwd, held] { return backend->add(fwd, std::move(*held)); },
        [this, fwd](const std::shared_ptr<Session>& ss, Expected<void, std::string> r) {
          if (!r) {
            registry.abandon(fwd.id);
            return ss->reply(portfwd::error_reply("add_hostfwd: " + r.error()));
          }
          registry.commit(fwd);
          LOG_INFO("api: add_hostfwd id %llu", static_cast<unsigned long long>(fwd.id));
          ss->reply(json{{"return", {{"id", fwd.id}}}}.dump());
        });
  }

  void handle(const std::shared_ptr<Session>& s) {
    auto req = portfwd::parse_api_request(s->buf, opts.defaults);
    if (!req) return s->reply(portfwd::error_reply(req.error()));
    if (std::holds_alternative<portfwd::ListHostFwd>(*req)) return s->reply(registry.list_reply());
    if (!opts.backend) return s->reply(portfwd::error_reply("this netd has no port forwarding backend"));
    auto* backend = opts.backend;
    if (auto* add = std::get_if<portfwd::Forward>(&*req)) {
      auto f = registry.prepare(*add);
      if (!f) return s->reply(portfwd::error_reply(f.error()));
      return open_then_add(s, *f, nullptr);
    }
    if (auto* rm = std::get_if<portfwd::RemoveHostFwd>(&*req)) {
      uint64_t id = rm->id;
      if (!registry.contains(id))
        return s->reply(portfwd::error_reply("bad request: remove_hostfwd: no forward with id " + std::to_string(id)));
      on_backend(
          s, [backend, id] { return backend->remove(id); },
          [this, id](const std::shared_ptr<Session>& ss, Expected<void, std::string> r) {
            if (!r) return ss->reply(portfwd::error_reply("remove_hostfwd: " + r.error()));
            registry.erase(id);
            ss->reply(json{{"return", json::object()}}.dump());
          });
      return;
    }
    bool flows = std::holds_alternative<portfwd::ListFlows>(*req);
    on_backend(
        s, [backend, flows] { return flows ? backend->flows_json() : backend->counters_json(); },
        [flows](const std::shared_ptr<Session>& ss, std::string r) {
          // The backend's JSON text, parsed back so the reply is built as a value (key order kept).
          json value = json::parse(r, nullptr, /*allow_exceptions=*/false);
          if (value.is_discarded()) return ss->reply(portfwd::error_reply("the backend's answer is not JSON"));
          ss->reply(json{{"return", {{flows ? "flows" : "counters", std::move(value)}}}}.dump());
        });
  }
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  boost::system::error_code ignore;
  impl_->acceptor.close(ignore);
  if (impl_->opts.remove_socket) ::unlink(impl_->opts.path.c_str());
}

Expected<UniqueFd, std::string> ApiServer::bind(const std::string& path) {
  if (path.empty()) return unexpected(std::string("empty API socket path"));
  sockaddr_un sa{};
  if (path.size() >= sizeof sa.sun_path)
    return unexpected("API socket path too long (max " + std::to_string(sizeof sa.sun_path - 1) + " bytes): " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return unexpected("API socket path exists and is not a socket: " + path);
    ::unlink(path.c_str());  // a stale socket of an earlier run
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return unexpected(std::string("API socket: ") + std::strerror(errno));
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  mode_t old = ::umask(0177);  // the socket is born 0600
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int e = errno;
  ::umask(old);
  if (rc != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
    if (rc == 0) e = errno;
    return unexpected("cannot listen on API socket " + path + ": " + std::strerror(e));
  }
  ::chmod(path.c_str(), 0600);
  return fd;
}

Expected<std::unique_ptr<ApiServer>, std::string> ApiServer::start(ApiServerOptions opts) {
  UniqueFd listener(opts.listener);
  opts.listener = -1;
  if (!listener) {
    auto fd = bind(opts.path);
    if (!fd) return unexpected(fd.error());
    listener = std::move(*fd);
  }
  auto impl = std::make_unique<Impl>();
  impl->opts = std::move(opts);
  boost::system::error_code ec;
  impl->acceptor.assign(stream_protocol(), listener.release(), ec);
  if (ec) return unexpected("API socket " + impl->opts.path + ": " + ec.message());
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    auto guard = asio::make_work_guard(raw->io);
    raw->io.run();
  });
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

}  // namespace netd

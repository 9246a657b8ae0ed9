// Expected<T, E>: a value or an error, for code paths that must not throw
// (the packet path, parsers) and for system calls whose failure is a value.
//
// Theory of operation: std::expected is C++23 and is not usable with the
// clang that builds our libFuzzer targets against libstdc++ 12, so this is a
// deliberately small subset with the same spelling (has_value, value, error,
// operator*, operator->, explicit bool). Replace it with std::expected once
// both compilers ship it; call sites will not change.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace netd {

template <class E>
struct Unexpected {
  E value;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
  return Unexpected<std::decay_t<E>>{std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  Expected(const T& v) : v_(std::in_place_index<0>, v) {}
  Expected(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  template <class G>
  Expected(Unexpected<G> e) : v_(std::in_place_index<1>, std::move(e.value)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const { assert(!has_value()); return std::get<1>(v_); }
  E& error() { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  template <class G>
  Expected(Unexpected<G> e) : err_(std::move(e.value)), ok_(false) {}

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const { assert(!ok_); return err_; }

 private:
  E err_{};
  bool ok_ = true;
};

}  // namespace netd

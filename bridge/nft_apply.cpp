#include "bridge/nft_apply.h"

#include <nftables/libnftables.h>

#include <cstdlib>

namespace netd::bridge {

namespace {

std::string first_line(const char* s) {
  std::string t = s ? s : "";
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  auto nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(0, nl);
}

// Runs in the child that joined the rootless netns.
NsChildResult apply_in_child(const std::string& script, const std::vector<std::string>& comments) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return unexpected(std::string("cannot create a libnftables context"));
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::string err;
  if (nft_run_cmd_from_buffer(ctx, script.c_str()) != 0) {
    err = "nftables rejected netd's rules: " + first_line(nft_ctx_get_error_buffer(ctx));
  } else {
    std::string list = std::string("list table ") + kNftFamily + " " + kNftTable;
    int rc = nft_run_cmd_from_buffer(ctx, list.c_str());
    const char* buf = nft_ctx_get_output_buffer(ctx);  // fetching rewinds: read it once
    std::string out = buf ? buf : "";
    if (comments.empty()) {
      if (rc == 0) err = "table inet netd is still present after deleting it";
    } else if (rc != 0) {
      err = "table inet netd is missing after applying it: " + first_line(nft_ctx_get_error_buffer(ctx));
    } else {
      // Exactly our rules: every expected comment present, no other netd rule left.
      size_t found = 0;
      for (size_t pos = 0; (pos = out.find("comment \"netd:", pos)) != std::string::npos; ++pos) ++found;
      if (found != comments.size())
        err = "table inet netd holds " + std::to_string(found) + " netd rules after applying, expected " +
              std::to_string(comments.size());
      for (const auto& c : comments) {
        if (!err.empty()) break;
        if (out.find("\"" + c + "\"") == std::string::npos) {
          err = "rule '" + c + "' is missing from table inet netd after applying it" + (std::getenv("NETD_DEBUG_NFT") ? ":\n" + out : std::string());
          break;
        }
      }
    }
  }
  nft_ctx_free(ctx);
  if (!err.empty()) return unexpected(err);
  return std::vector<int>{};
}

}  // namespace

Expected<void, std::string> apply_firewall(const NsTarget& rootless, const std::vector<FirewallNetwork>& nets) {
  std::string script = nft_script(nets);
  std::vector<std::string> comments = expected_comments(nets);
  auto r = run_in_netns(rootless, [&] { return apply_in_child(script, comments); });
  if (!r) return unexpected(r.error());
  return {};
}

}  // namespace netd::bridge

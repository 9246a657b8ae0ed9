// The containers.conf drop-in's text, its ownership marker, where it goes,
// and the Podman facts read from `podman --version` and `podman info`.
#include <gtest/gtest.h>

#include "netd/install_layout.h"
#include "netd/podman_conf.h"

namespace netd::podman {
namespace {

TEST(PodmanDropin, ExactText) {
  EXPECT_EQ(dropin_text("/usr/libexec/netd", "0.1.0"),
            "# Written by `netd setup podman` (netd 0.1.0).\n"
            "# `netd setup podman --undo` removes it; put settings of your own in a file of\n"
            "# your own. Podman runs netd for rootless networking: as pasta (Podman 5's\n"
            "# default) and aardvark-dns from helper_binaries_dir, as slirp4netns (Podman 4's\n"
            "# default) from network_cmd_path. The other helper directories are Podman's\n"
            "# defaults: the list replaces Podman's own, which also finds netavark there.\n"
            "[engine]\n"
            "helper_binaries_dir = [\n"
            "  \"/usr/libexec/netd\",\n"
            "  \"$BINDIR\",\n"
            "  \"/usr/local/libexec/podman\",\n"
            "  \"/usr/local/lib/podman\",\n"
            "  \"/usr/libexec/podman\",\n"
            "  \"/usr/lib/podman\",\n"
            "]\n"
            "network_cmd_path = \"/usr/libexec/netd/slirp4netns\"\n");
}

TEST(PodmanDropin, PathsAreTomlEscaped) {
  std::string t = dropin_text("/opt/we\"ird\\dir", "1");
  EXPECT_NE(t.find("  \"/opt/we\\\"ird\\\\dir\",\n"), std::string::npos) << t;
  EXPECT_NE(t.find("network_cmd_path = \"/opt/we\\\"ird\\\\dir/slirp4netns\"\n"), std::string::npos) << t;
}

TEST(PodmanDropin, TomlStringEscapesControlCharacters) {
  EXPECT_EQ(toml_string("a\nb\tc\x7f"), "\"a\\u000ab\\u0009c\\u007f\"");
  EXPECT_EQ(toml_string(""), "\"\"");
}

TEST(PodmanDropin, MarkerRecognisesOnlyNetdsFiles) {
  EXPECT_TRUE(is_netd_dropin(dropin_text("/x", "0.1.0")));
  EXPECT_FALSE(is_netd_dropin(""));
  EXPECT_FALSE(is_netd_dropin("[engine]\nnetwork_cmd_path = \"/usr/bin/slirp4netns\"\n"));
  // The marker must be the first line, not anywhere.
  EXPECT_FALSE(is_netd_dropin("# mine\n# Written by `netd setup podman` (netd 0.1.0).\n"));
  EXPECT_FALSE(is_netd_dropin("# Written by `netd setup`"));
}

TEST(PodmanDropinDir, UserPrefersAbsoluteXdgConfigHome) {
  EXPECT_EQ(dropin_dir(Scope::User, "/x/cfg", "/home/u"), "/x/cfg/containers/containers.conf.d");
  EXPECT_EQ(dropin_dir(Scope::User, nullptr, "/home/u"), "/home/u/.config/containers/containers.conf.d");
  // A relative or empty XDG_CONFIG_HOME is ignored, as the XDG spec says.
  EXPECT_EQ(dropin_dir(Scope::User, "rel", "/home/u/"), "/home/u/.config/containers/containers.conf.d");
  EXPECT_EQ(dropin_dir(Scope::User, "", "/home/u"), "/home/u/.config/containers/containers.conf.d");
  EXPECT_EQ(dropin_dir(Scope::User, nullptr, "/"), "/.config/containers/containers.conf.d");
  EXPECT_EQ(dropin_dir(Scope::User, nullptr, nullptr), std::nullopt);
  EXPECT_EQ(dropin_dir(Scope::User, nullptr, "relative"), std::nullopt);
}

TEST(PodmanDropinDir, SystemIsEtc) {
  EXPECT_EQ(dropin_dir(Scope::System, "/x", "/home/u"), "/etc/containers/containers.conf.d");
}

TEST(PodmanVersion, Parses) {
  auto v = parse_podman_version("podman version 4.3.1\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 4);
  EXPECT_EQ(v->minor, 3);
  EXPECT_EQ(v->patch, 1);
  EXPECT_EQ(v->text, "4.3.1");
  v = parse_podman_version("podman version 5.5.0-dev\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 5);
  EXPECT_EQ(v->minor, 5);
  EXPECT_EQ(v->text, "5.5.0-dev");
  v = parse_podman_version("podman version 6");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 6);
  EXPECT_EQ(v->minor, 0);
}

TEST(PodmanVersion, RejectsOtherText) {
  EXPECT_FALSE(parse_podman_version(""));
  EXPECT_FALSE(parse_podman_version("podman version \n"));
  EXPECT_FALSE(parse_podman_version("podman version x.y\n"));
  EXPECT_FALSE(parse_podman_version("Podman Engine 4.3.1"));
  EXPECT_FALSE(parse_podman_version("docker version 24.0.1"));
  EXPECT_FALSE(parse_podman_version("podman version 99999999999999999999"));
}

// Trimmed from Debian 12's podman 4.3.1 (`podman info --format json`, rootless).
constexpr const char* kInfo43 = R"({"host": {"arch": "amd64",
  "security": {"apparmorEnabled": false, "rootless": true, "seccompEnabled": true},
  "slirp4netns": {"executable": "/usr/libexec/netd/slirp4netns", "package": "Unknown", "version": ""}},
  "version": {"Version": "4.3.1"}})";
// Shaped like Podman 5.4's.
constexpr const char* kInfo54 = R"({"host": {"rootlessNetworkCmd": "pasta",
  "pasta": {"executable": "/usr/bin/pasta", "package": "passt", "version": "pasta 2025_05_12"},
  "security": {"rootless": false},
  "slirp4netns": {"executable": "", "package": "", "version": ""}}})";

TEST(PodmanInfo, Podman43) {
  auto f = parse_podman_info(kInfo43);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->slirp4netns_executable, "/usr/libexec/netd/slirp4netns");
  EXPECT_EQ(f->pasta_executable, "");
  EXPECT_EQ(f->rootless_network_cmd, "");
  EXPECT_TRUE(f->rootless);
  EXPECT_EQ(rootless_network_mode(*parse_podman_version("podman version 4.3.1"), *f), "slirp4netns");
}

TEST(PodmanInfo, Podman54) {
  auto f = parse_podman_info(kInfo54);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->pasta_executable, "/usr/bin/pasta");
  EXPECT_EQ(f->rootless_network_cmd, "pasta");
  EXPECT_FALSE(f->rootless);
  EXPECT_EQ(rootless_network_mode(*parse_podman_version("podman version 5.4.2"), *f), "pasta");
}

TEST(PodmanInfo, ModeFollowsConfigurationThenVersion) {
  InfoFacts f;
  EXPECT_EQ(rootless_network_mode(*parse_podman_version("podman version 5.0.0"), f), "pasta");
  EXPECT_EQ(rootless_network_mode(*parse_podman_version("podman version 4.9.4"), f), "slirp4netns");
  f.rootless_network_cmd = "slirp4netns";
  EXPECT_EQ(rootless_network_mode(*parse_podman_version("podman version 5.0.0"), f), "slirp4netns");
}

TEST(PodmanInfo, WrongShapesAreNotInfo) {
  EXPECT_FALSE(parse_podman_info(""));
  EXPECT_FALSE(parse_podman_info("Error: something"));
  EXPECT_FALSE(parse_podman_info("[]"));
  EXPECT_FALSE(parse_podman_info(R"({"host": 3})"));
  EXPECT_FALSE(parse_podman_info(R"({"store": {}})"));
  // Odd field types read as absent, not as a failure.
  auto f = parse_podman_info(R"({"host": {"slirp4netns": "x", "pasta": {"executable": 5}, "security": []}})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->slirp4netns_executable, "");
  EXPECT_EQ(f->pasta_executable, "");
  EXPECT_FALSE(f->rootless);
}

TEST(InstallLayout, HelpersBesideTheBinary) {
  EXPECT_EQ(install::helpers_dir_for("/usr/bin/netd"), "/usr/libexec/netd");
  EXPECT_EQ(install::helpers_dir_for("/usr/local/bin/netd"), "/usr/local/libexec/netd");
  EXPECT_EQ(install::helpers_dir_for("/work/build/bin/netd"), "/work/build/libexec/netd");
}

}  // namespace
}  // namespace netd::podman

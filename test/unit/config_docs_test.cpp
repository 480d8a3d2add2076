// The config documentation against the code: every client and router key is
// in the README's key tables and in conf/example.conf or conf/router.conf
// (set, or commented out), and the README's tables name no key the loaders
// do not know. The keys come from client_key_names() and router_key_names(),
// the tables the loaders check files against.
#include "enftun/config/client_config.hpp"
#include "enftun/config/router_config.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Last: cmocka defines fail() and friends as macros, which would clash with
// std::basic_ios::fail() in <fstream>.
#include "config_fixture.hpp"
#include "test.hpp"

using namespace enftun::config;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        print_error("cannot read %s\n", path.c_str());
        fail();
    }
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        end = end == std::string::npos ? text.size() : end;
        out.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

std::string parent_of(const std::string& key) {
    const auto dot = key.rfind('.');
    return dot == std::string::npos ? std::string() : key.substr(0, dot);
}

std::string join_path(const std::string& group, const std::string& name) {
    return group.empty() ? name : group + "." + name;
}

// The keys named in the first column of the README table whose header row
// starts with "| HEADER |". A cell may name several keys: "`a.b`, `a.c`", or
// "`a.b.c` / `d` / `e`", where a name without a dot is in the first one's group.
std::set<std::string> readme_table_keys(const std::string& readme, const std::string& header) {
    std::set<std::string> keys;
    const auto lines = lines_of(readme);
    auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.rfind("| " + header + " |", 0) == 0;
    });
    if (it == lines.end()) {
        print_error("README.md: no table \"%s\"\n", header.c_str());
        fail();
    }
    for (it += 2; it != lines.end() && it->rfind('|', 0) == 0; ++it) {
        const std::string cell = it->substr(1, it->find('|', 1) - 1);
        std::string first;
        for (std::size_t open = cell.find('`'); open != std::string::npos;) {
            const std::size_t close = cell.find('`', open + 1);
            std::string name = cell.substr(open + 1, close - open - 1);
            if (first.empty()) {
                first = name;
            } else if (name.find('.') == std::string::npos) {
                name = join_path(parent_of(first), name);
            }
            keys.insert(name);
            open = cell.find('`', close + 1);
        }
    }
    return keys;
}

// What a conf file shows of its keys.
struct ConfKeys {
    // Dotted paths of settings and groups, set or commented out
    // ("# key = value;"), including the members of a one-line group
    // ("# tpm = { tcti = "device"; };").
    std::set<std::string> settings;
    // Keys described in a comment list inside a group ("#   name   text"),
    // as GROUP.name: how the members of a one-line group are documented.
    std::set<std::string> described;
};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9');
}

std::size_t name_end(const std::string& s, std::size_t from) {
    while (from < s.size() && is_name_char(s[from])) {
        ++from;
    }
    return from;
}

ConfKeys conf_keys(const std::string& text) {
    ConfKeys keys;
    std::vector<std::string> groups; // open groups, dotted
    const auto group = [&] { return groups.empty() ? std::string() : groups.back(); };
    for (const std::string& line : lines_of(text)) {
        std::size_t p = line.find_first_not_of(' ');
        if (p == std::string::npos) {
            continue;
        }
        const bool commented = line[p] == '#';
        if (commented) {
            const std::size_t q = line.find_first_not_of(' ', p + 1);
            if (q != std::string::npos && q >= p + 3 && is_name_char(line[q])) {
                const std::size_t e = name_end(line, q);
                if (e == line.size() || line.compare(e, 2, "  ") == 0) {
                    keys.described.insert(join_path(group(), line.substr(q, e - q)));
                }
            }
            p += line.compare(p, 2, "# ") == 0 ? 2 : 1;
        } else if (line[p] == '}') {
            if (!groups.empty()) {
                groups.pop_back();
            }
            continue;
        }
        const std::size_t e = name_end(line, p);
        if (e == p || (line.compare(e, 3, " = ") != 0 && line.compare(e, 3, " : ") != 0)) {
            continue;
        }
        const std::string path = join_path(group(), line.substr(p, e - p));
        const std::size_t value = e + 3;
        if (line.compare(value, 1, "{") == 0) {
            const std::size_t close = line.find('}', value);
            if (close == std::string::npos) {
                if (!commented) {
                    keys.settings.insert(path);
                    groups.push_back(path);
                }
                continue;
            }
            keys.settings.insert(path);
            // One-line group: "{ a = 1; b = 2; }".
            for (std::size_t m = line.find_first_not_of(' ', value + 1); m < close;) {
                const std::size_t me = name_end(line, m);
                if (me > m && line.compare(me, 3, " = ") == 0) {
                    keys.settings.insert(path + "." + line.substr(m, me - m));
                }
                const std::size_t semi = line.find(';', me);
                if (semi == std::string::npos || semi > close) {
                    break;
                }
                m = line.find_first_not_of(' ', semi + 1);
            }
        } else if (line.find_last_not_of(' ') == line.rfind(';')) {
            keys.settings.insert(path);
        }
    }
    return keys;
}

// Keys missing from the table or the conf file, and table entries that are
// no key; each printed, then one failure.
void check_documented(const std::set<std::string>& code_keys, const std::set<std::string>& table,
                      const ConfKeys& conf, const char* table_name, const char* conf_name) {
    bool ok = true;
    for (const std::string& key : code_keys) {
        if (table.count(key) == 0) {
            print_error("%s: not in the README's \"%s\" table\n", key.c_str(), table_name);
            ok = false;
        }
        const std::string group = parent_of(key);
        const std::string name = key.substr(key.rfind('.') + 1);
        const bool in_conf = conf.settings.count(key) != 0 ||
                             (conf.settings.count(group) != 0 &&
                              conf.described.count(join_path(parent_of(group), name)) != 0);
        if (!in_conf) {
            print_error("%s: not in %s (set, commented out, or described in its group)\n",
                        key.c_str(), conf_name);
            ok = false;
        }
    }
    for (const std::string& key : table) {
        if (code_keys.count(key) == 0) {
            print_error("%s: in the README's \"%s\" table but no such key\n", key.c_str(),
                        table_name);
            ok = false;
        }
    }
    assert_true(ok);
}

void test_client_keys_documented(void** state) {
    (void)state;
    std::set<std::string> keys;
    for (std::string_view key : client_key_names()) {
        // Printed for the original enftun's scripts; the file's key is the
        // group identity.tpm itself.
        keys.insert(key == "identity.tpm.enable" ? "identity.tpm" : std::string(key));
    }
    assert_true(keys.count("tun.dev") == 1 && keys.count("identity.tpm.tcti") == 1);
    const std::string readme = read_text(test_config::data_path("../../README.md"));
    const std::string conf = read_text(test_config::data_path("../../conf/example.conf"));
    check_documented(keys, readme_table_keys(readme, "client key"), conf_keys(conf), "client key",
                     "conf/example.conf");
}

void test_router_keys_documented(void** state) {
    (void)state;
    const std::set<std::string> keys(router_key_names().begin(), router_key_names().end());
    assert_true(keys.count("router.port") == 1 && keys.count("router.tun.route_table") == 1);
    const std::string readme = read_text(test_config::data_path("../../README.md"));
    const std::string conf = read_text(test_config::data_path("../../conf/router.conf"));
    check_documented(keys, readme_table_keys(readme, "router key"), conf_keys(conf), "router key",
                     "conf/router.conf");
}

// The rows of the README table whose header row starts with "| HEADER |":
// each first-column key with the default-column text that goes with it. A
// default cell of backticked values only, one per key of its row, gives
// each key its value ("`localhost`, `2321`"); "unset" gives "" to every key;
// any other cell (required, prose) gives none.
std::vector<std::pair<std::string, std::string>> readme_defaults(const std::string& readme,
                                                                 const std::string& header) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto lines = lines_of(readme);
    auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.rfind("| " + header + " |", 0) == 0;
    });
    assert_true(it != lines.end());
    const auto ticked = [](const std::string& cell, std::string* rest) {
        std::vector<std::string> names;
        std::size_t open = cell.find('`');
        std::size_t last = 0;
        for (; open != std::string::npos; open = cell.find('`', last)) {
            const std::size_t close = cell.find('`', open + 1);
            *rest += cell.substr(last, open - last);
            names.push_back(cell.substr(open + 1, close - open - 1));
            last = close + 1;
        }
        *rest += cell.substr(last);
        return names;
    };
    for (it += 2; it != lines.end() && it->rfind('|', 0) == 0; ++it) {
        const std::size_t bar1 = it->find('|', 1);
        const std::size_t bar2 = it->find('|', bar1 + 1);
        std::string key_rest;
        std::string default_rest;
        const auto keys = ticked(it->substr(1, bar1 - 1), &key_rest);
        const std::string cell = it->substr(bar1 + 1, bar2 - bar1 - 1);
        const auto values = ticked(cell, &default_rest);
        const bool only_values =
            default_rest.find_first_not_of(" ,") == std::string::npos && !values.empty();
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (only_values && values.size() == keys.size()) {
                out.emplace_back(keys[i], values[i]);
            } else if (cell == " unset ") {
                out.emplace_back(keys[i], "");
            }
        }
    }
    return out;
}

// A README default as `enftun -p` prints it: a libconfig list `[ "a", "b" ]`
// as "a b".
std::string as_printed(const std::string& value) {
    if (value.empty() || value.front() != '[') {
        return value;
    }
    std::string out;
    for (std::size_t open = value.find('"'); open != std::string::npos;) {
        const std::size_t close = value.find('"', open + 1);
        out += (out.empty() ? "" : " ") + value.substr(open + 1, close - open - 1);
        open = value.find('"', close + 1);
    }
    return out;
}

// Every client key whose README default is a value: `enftun -p` prints that
// value for a file that does not set the key (the member's initializer, the
// row's reader leaving it as it is).
void test_client_defaults_documented(void** state) {
    (void)state;
    auto config = load_client_config_from_string(
        "remote = { hosts = [ \"fd00::1\" ]; ca_cert_file = \"/ca.pem\"; };\n"
        "identity = { cert_file = \"/c.pem\"; key_file = \"/c.key\"; };\n",
        "");
    assert_true(config.has_value());
    const std::string readme = read_text(test_config::data_path("../../README.md"));
    int compared = 0;
    bool ok = true;
    for (const auto& [key, value] : readme_defaults(readme, "client key")) {
        if (key == "identity.tpm") {
            continue; // a group: prints as identity.tpm.enable
        }
        auto printed = print_client_key(*config, key);
        assert_true(printed.has_value());
        ++compared;
        if (*printed != as_printed(value)) {
            print_error("%s: the README's default is \"%s\", enftun -p prints \"%s\"\n",
                        key.c_str(), value.c_str(), printed->c_str());
            ok = false;
        }
    }
    assert_true(ok);
    // Most keys have a plain default: a parser that found none would pass.
    assert_true(compared >= 25);
}

// The checker itself: what it must find and what it must miss.
void test_parsers(void** state) {
    (void)state;
    const auto table = readme_table_keys("text\n| client key | default |\n|---|---|\n"
                                         "| `a.b`, `a.c` | 1 |\n| `r.t.d` / `e` / `f` | x |\n"
                                         "\n| `z.z` | after the table |\n",
                                         "client key");
    assert_true(table == (std::set<std::string>{"a.b", "a.c", "r.t.d", "r.t.e", "r.t.f"}));
    const auto conf = conf_keys("top = 1;\n# Default: 3; not = a key\ng : {\n  k = 1;\n"
                                "  # opt = \"x\";\n  #   listed  described\n"
                                "  # one = { m = 1; n = \"a\"; };\n  # prose = with words\n"
                                "  sub : {\n    s = [ ];\n  };\n}\nafter = 2;\n");
    assert_true(conf.settings ==
                (std::set<std::string>{"top", "g", "g.k", "g.opt", "g.one", "g.one.m", "g.one.n",
                                       "g.sub", "g.sub.s", "after"}));
    assert_true(conf.described.count("g.listed") == 1);
    const auto defaults = readme_defaults(
        "| client key | default | meaning |\n|---|---|---|\n| `a.b` | `1` | x |\n"
        "| `a.c`, `a.d` | `h`, `2` | x |\n| `a.e` | unset | x |\n| `a.f` | required | x |\n"
        "| `a.g` | `x` next to `a.b` | x |\n| `a.l` | `[ \"p\", \"q\" ]` | x |\n",
        "client key");
    assert_true(
        defaults ==
        (std::vector<std::pair<std::string, std::string>>{
            {"a.b", "1"}, {"a.c", "h"}, {"a.d", "2"}, {"a.e", ""}, {"a.l", "[ \"p\", \"q\" ]"}}));
    assert_string_equal(as_printed("[ \"p\", \"q\" ]").c_str(), "p q");
    assert_string_equal(as_printed("[ ]").c_str(), "");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_client_keys_documented),
        cmocka_unit_test(test_router_keys_documented),
        cmocka_unit_test(test_client_defaults_documented),
    };
    return cmocka_run_group_tests_name("config_docs", tests, nullptr, nullptr);
}

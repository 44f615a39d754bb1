// create-md RES [--force]: initialise the metadata of this node's volume (DRBD's `drbdadm create-md`).
// Uses the local host's disk and meta-disk, the node ids of both hosts and the disk section's al-extents.
// Refuses (exit 20, nothing written) when the area holds tandem metadata or a foreign signature, unless
// --force; unlike drbdadm it never asks interactively, so scripts behave the same as people.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <charconv>

#include "cli_common.h"
#include "commands.h"
#include "io/signature_probe.h"
#include "meta/create_md.h"

namespace tandem::adm {
namespace {
namespace po = boost::program_options;

uint32_t al_extents_of(const config::ResourceConfig& r) {
  const std::string* text = r.disk.get("al-extents");
  if (text == nullptr) return meta::kAlExtentsDefault;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  // The parser accepts DRBD's wider range (7..65536); the metadata format keeps DRBD 9's 67..65534.
  if (ec != std::errc() || end != text->data() + text->size() || v < meta::kAlExtentsMin ||
      v > meta::kAlExtentsMax)
    cli_fail(kExitConfig, "{}:{}: resource {}: al-extents {} is outside {}..{}", r.file, r.line, r.name, *text,
             meta::kAlExtentsMin, meta::kAlExtentsMax);
  return v;
}

int run_create_md(const CommandArgs& args) {
  bool force = false;
  po::options_description opts;
  opts.add_options()("force", po::bool_switch(&force), "overwrite existing metadata and signatures");
  po::variables_map vm;
  parse_command_options(kCommand_create_md, args, opts, nullptr, &vm);
  config::Config cfg = load_config(args.global);
  const config::ResourceConfig& r = find_resource(cfg, args.resource);
  LocalAndPeer hosts = resolve_hosts(args.global, r);

  meta::CreateMdRequest req;
  req.paths.backing_path = hosts.local->volume.disk;
  req.paths.meta_path = hosts.local->volume.meta_disk;
  req.node_id = static_cast<uint32_t>(hosts.local->node_id);
  req.peer_node_id = static_cast<uint32_t>(hosts.peer->node_id);
  req.al_extents = al_extents_of(r);
  req.force = force;
  req.probe = io::probe_signatures;
  if (args.global.dry_run) {
    fmt::print("create-md disk={} meta-disk={} node-id={} peer-node-id={} al-extents={}{}\n", req.paths.backing_path,
               req.paths.meta_path, req.node_id, req.peer_node_id, req.al_extents, force ? " --force" : "");
    return kExitOk;
  }
  std::string message;
  int rc = meta::create_md(req, &message);
  if (rc != 0) cli_fail(kExitFailed, "{}", message);
  fmt::print("{}\n", message);
  return kExitOk;
}

}  // namespace

const Command kCommand_create_md = {"create-md", ResourceArg::Required, "RES [--force]",
                                    "write fresh metadata on this node's disk (refuses to overwrite without --force)",
                                    run_create_md};

}  // namespace tandem::adm

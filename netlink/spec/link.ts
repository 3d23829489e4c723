/**
 * Links as `ip link add|set` speaks them: {@link LinkAddSpec} and {@link LinkChanges}. Pure.
 *
 * @module
 */
import type { Dev } from "./common.ts";

/** A new link: `ip link add NAME type KIND [peer name PEER]`. */
export interface LinkAddSpec {
  name: string;
  /** "veth", "bridge", "dummy", … (tun/tap devices are made with tun/, not netlink). */
  kind: string;
  /** veth: the peer's name. */
  peer?: string;
  mtu?: number;
  txqlen?: number;
  address?: string;
  up?: boolean;
}

/** Changes to a link: `ip link set DEV up|down mtu N name X txqueuelen N address MAC master M`. */
export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  name?: string;
  txqlen?: number;
  address?: string;
  /** Enslave to this master; null to release. */
  master?: Dev | null;
  alias?: string;
}


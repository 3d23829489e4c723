/**
 * The UAPI socket: a Unix stream socket at /var/run/wireguard/IFACE.sock (mode 0600 in a 0700
 * directory, as wireguard-go makes them) answering the text protocol of wg/uapi.ts. When the
 * socket file is removed (`wg-quick down` does that for userspace implementations), the
 * interface stops, as wireguard-go's does.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync, watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import { uapiHandle, type UapiTarget } from "./uapi.ts";
import { TunkitError } from "../common/errors.ts";

/** Where wg looks for userspace interfaces. */
export const UAPI_DIR = "/var/run/wireguard";

/** The socket path of an interface. */
export function uapiSocketPath(iface: string, dir = UAPI_DIR): string {
  return `${dir}/${iface}.sock`;
}

/** Serves one interface's UAPI socket. */
export class UapiServer {
  private readonly server: Server;
  private watcher: FSWatcher | undefined;
  private closed = false;
  private ino = 0;

  /**
   * Listens on the UAPI socket `path` for `target`.
   *
   * @param target The interface to read and configure.
   * @param path The socket's path (/var/run/wireguard/NAME.sock).
   * @param onRemoved Called when the socket file is removed (wg-quick down's signal).
   */
  constructor(private readonly target: UapiTarget, readonly path: string, onRemoved: () => void) {
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // A stale file from a crash is replaced (wireguard-go does the same); the CLI refuses first
    // when a live daemon answers there.
    if (existsSync(path)) unlinkSync(path);
    this.server = createServer((sock) => this.serve(sock));
    this.server.on("error", () => {});
    this.server.listen(path, () => {
      if (this.closed) return;
      try {
        chmodSync(path, 0o600);
        this.ino = statSync(path).ino;
      } catch {
        /* removed already: the watcher below sees it */
      }
      try {
        this.watcher = watch(dir, () => {
          if (this.closed) return;
          let ino = -1;
          try {
            ino = statSync(path).ino;
          } catch {
            /* gone */
          }
          if (ino !== this.ino) onRemoved();
        });
        this.watcher.unref?.();
      } catch (e) {
        onRemoved();
        throw new TunkitError(`cannot watch ${dir}: ${(e as Error).message}`);
      }
    });
    this.server.unref();
  }

  /** Answers the get/set requests on one connection. */
  private serve(sock: Socket): void {
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("error", () => sock.destroy());
    sock.on("data", (chunk: string) => {
      buf += chunk;
      for (;;) {
        const end = buf.indexOf("\n\n");
        if (end < 0) {
          if (buf.length > 1 << 20) sock.destroy();
          return;
        }
        const req = buf.slice(0, end + 2);
        buf = buf.slice(end + 2);
        sock.write(uapiHandle(this.target, req));
      }
    });
  }

  /** Stops serving and removes the socket file (if it is still ours). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.server.close();
    try {
      if (!this.ino || statSync(this.path).ino === this.ino) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

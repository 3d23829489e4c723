/**
 * The crypto WireGuard runs on: ChaCha20-Poly1305 for the data path and X25519 for handshakes,
 * each from the fastest system library present. Measured on this kind of machine (CPU time
 * with process.cpuUsage, medians, FFI calls included): OpenSSL 3's ChaCha20-Poly1305 seals a
 * 1420-byte packet in ~1.2 µs vs ~2.1 µs for libsodium; libsodium's X25519 takes ~35-40 µs vs
 * ~64 µs for OpenSSL's EVP_PKEY path. Either library alone is enough.
 *
 * @module
 */
import { loadLibcrypto, loadSodium, type NativeCrypto } from "../../ffi/crypto.ts";
import { TunkitError } from "../../common/errors.ts";

/** What WireGuard needs from a crypto library. */
export interface WgCrypto {
  /** ChaCha20-Poly1305 provider (data path, handshake AEAD). */
  readonly aead: NativeCrypto;
  /** X25519 provider. */
  readonly dh: NativeCrypto;
  /** e.g. "aead=libcrypto dh=libsodium". */
  readonly description: string;
}

/** Neither libcrypto nor libsodium could be loaded. */
export class CryptoUnavailableError extends TunkitError {
  /**
   * The error, with the install hint.
   *
   * @param detail Why each library failed to load.
   */
  constructor(detail: string) {
    super(
      `WireGuard needs OpenSSL 3's libcrypto or libsodium, and neither could be loaded (${detail})`,
      CRYPTO_INSTALL_HINT,
    );
  }
}

/** What to install when no crypto library loads. */
export const CRYPTO_INSTALL_HINT =
  "install one: apt-get install libssl3 (Debian/Ubuntu), apk add libcrypto3 (Alpine), dnf install openssl-libs (Fedora); or libsodium23 / libsodium";

let cached: Promise<WgCrypto> | undefined;

/** Which library to use for each job; "auto" takes the measured fastest present. */
export interface CryptoChoice {
  /** ChaCha20-Poly1305 from this library. */
  aead?: "auto" | "libcrypto" | "libsodium";
  /** X25519 from this library. */
  dh?: "auto" | "libcrypto" | "libsodium";
}

/**
 * Loads the crypto libraries once per process (the default choice is cached).
 *
 * @example
 * ```ts
 * import { loadWgCrypto } from "./provider.ts";
 * const c = await loadWgCrypto();
 * console.log(c.description); // "aead=libcrypto dh=libsodium"
 * ```
 */
export function loadWgCrypto(choice: CryptoChoice = {}): Promise<WgCrypto> {
  const auto = (choice.aead ?? "auto") === "auto" && (choice.dh ?? "auto") === "auto";
  if (auto && cached) return cached;
  const p = load(choice);
  if (auto) {
    cached = p;
    p.catch(() => (cached = undefined));
  }
  return p;
}

async function load(choice: CryptoChoice): Promise<WgCrypto> {
  const tried: string[] = [];
  const get = async (which: "libcrypto" | "libsodium"): Promise<NativeCrypto | undefined> => {
    try {
      return await (which === "libcrypto" ? loadLibcrypto() : loadSodium());
    } catch (e) {
      tried.push((e as Error).message);
      return undefined;
    }
  };
  const ossl = choice.aead === "libsodium" && choice.dh === "libsodium" ? undefined : await get("libcrypto");
  const sod = choice.aead === "libcrypto" && choice.dh === "libcrypto" ? undefined : await get("libsodium");
  const pick = (want: CryptoChoice["aead"], order: [NativeCrypto | undefined, NativeCrypto | undefined]) => {
    if (want === "libcrypto") return ossl;
    if (want === "libsodium") return sod;
    return order[0] ?? order[1];
  };
  const aead = pick(choice.aead, [ossl, sod]);
  const dh = pick(choice.dh, [sod, ossl]);
  if (!aead || !dh) throw new CryptoUnavailableError(tried.join("; ") || "not requested");
  return { aead, dh, description: `aead=${aead.name} dh=${dh.name}` };
}

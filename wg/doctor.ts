/**
 * `tunkit doctor`'s WireGuard check: can the crypto libraries `tunkit wg` needs at run time be
 * loaded (OpenSSL 3's libcrypto or libsodium), and which one serves what.
 *
 * @module
 */
import type { Check } from "../tun/doctor.ts";
import { CRYPTO_INSTALL_HINT, loadWgCrypto } from "./crypto/provider.ts";

/**
 * The "wg-crypto" check: ok with the libraries in use, or warn (only `tunkit wg` needs them)
 * with what to install.
 *
 * @example
 * ```ts
 * import { checkWgCrypto } from "./doctor.ts";
 * const c = await checkWgCrypto(); // { check: "wg-crypto", status: "ok", detail: "aead=libcrypto … dh=libsodium …" }
 * ```
 */
export async function checkWgCrypto(load: typeof loadWgCrypto = loadWgCrypto): Promise<Check> {
  try {
    const c = await load();
    return { check: "wg-crypto", status: "ok", detail: `tunkit wg: ChaCha20-Poly1305 from ${c.aead.path}, X25519 from ${c.dh.path}` };
  } catch (e) {
    return { check: "wg-crypto", status: "warn", detail: `tunkit wg cannot run: ${(e as Error).message}`, fix: CRYPTO_INSTALL_HINT };
  }
}

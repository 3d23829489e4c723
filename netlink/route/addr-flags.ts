/**
 * ip's address flag words (`ip addr` flags: nodad, secondary, …), plain data of their own: the
 * address view (netlink/view/addr.ts) prints them without loading the address spec, and the spec
 * (netlink/spec/addr.ts, which re-exports the table) parses them.
 *
 * @module
 */
import { IFA_F } from "./constants.ts";

/**
 * ip's address flag words: mask, read-only (shown, never set), IPv6 only.
 *
 * @example
 * ```ts
 * import { ADDRESS_FLAG_WORDS } from "./addr-flags.ts";
 * ADDRESS_FLAG_WORDS.find((f) => f.name === "nodad")?.v6only; // true
 * ```
 */
export const ADDRESS_FLAG_WORDS: ReadonlyArray<{ name: string; mask: number; readonly: boolean; v6only: boolean }> = [
  { name: "secondary", mask: IFA_F.SECONDARY, readonly: true, v6only: false },
  { name: "temporary", mask: IFA_F.SECONDARY, readonly: true, v6only: false },
  { name: "nodad", mask: IFA_F.NODAD, readonly: false, v6only: true },
  { name: "optimistic", mask: IFA_F.OPTIMISTIC, readonly: false, v6only: true },
  { name: "dadfailed", mask: IFA_F.DADFAILED, readonly: true, v6only: true },
  { name: "home", mask: IFA_F.HOMEADDRESS, readonly: false, v6only: true },
  { name: "deprecated", mask: IFA_F.DEPRECATED, readonly: true, v6only: true },
  { name: "tentative", mask: IFA_F.TENTATIVE, readonly: true, v6only: true },
  { name: "permanent", mask: IFA_F.PERMANENT, readonly: true, v6only: true },
  { name: "mngtmpaddr", mask: IFA_F.MANAGETEMPADDR, readonly: false, v6only: true },
  { name: "noprefixroute", mask: IFA_F.NOPREFIXROUTE, readonly: false, v6only: false },
  { name: "autojoin", mask: IFA_F.MCAUTOJOIN, readonly: false, v6only: false },
  { name: "stable-privacy", mask: IFA_F.STABLE_PRIVACY, readonly: true, v6only: true },
];

/**
 * `ip -j` views of the decoded objects, gathered from view/ (one printer for text and JSON per
 * object there): kept as one import for existing callers.
 *
 * @module
 */
export { type IpJsonContext, linkMap } from "../view/context.ts";
export { ruleToIpJson } from "../view/rule.ts";
export { routeToIpJson } from "../view/route.ts";
export { addressToIpJson } from "../view/addr.ts";
export { linkAddressesToIpJson, linkToIpJson } from "../view/link.ts";

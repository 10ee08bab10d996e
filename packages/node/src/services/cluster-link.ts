import type { LinkChange, ServiceContext } from '../node-services.js';

/** Creates (or finds) the cluster link of the configured backend and brings it up. */
export async function ensureClusterLink(ctx: ServiceContext): Promise<LinkChange> {
  const r = await ctx.node.backend.ensure();
  return { name: r.link.name, mac: r.link.mac, mtu: r.link.mtu, created: r.created, broughtUp: r.broughtUp };
}

/** Undoes exactly what {@link ensureClusterLink} did: deletes a link it created, downs one it brought up. */
export async function teardownClusterLink(ctx: ServiceContext, change: LinkChange): Promise<void> {
  await ctx.node.backend.teardown({ created: change.created, broughtUp: change.broughtUp });
}

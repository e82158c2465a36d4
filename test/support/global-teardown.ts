export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__MESH_EMULATORS__ ?? []).map((e) => e.stop()));
}

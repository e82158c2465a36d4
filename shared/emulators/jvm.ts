/**
 * JVM options for the emulators (both are Java). Default: C1 only (`-XX:TieredStopAtLevel=1`).
 *
 * Why: on a small machine the JVM's optimizing C2 compiler is much of what the emulators cost, and a
 * fresh emulator keeps compiling for tens of thousands of messages, on the cores the mesh, its
 * services and the tests need. Measured (`npm run bench -- emulator-jvm`, 2 cores, two runs): the
 * Pub/Sub emulator does the same work with 40-55 % less CPU per message, cold and warm (1.25-1.6x
 * the messages/s cold, 1.07-1.15x warm); the Firestore emulator is 1.4x faster cold and 0.9-1.0x
 * once warm (after ~30 000 documents C2 catches up). Test runs and `npm start` are mostly cold.
 * MESH_EMULATOR_JVM_OPTS changes them ('' for the JVM's defaults); they are added to
 * JAVA_TOOL_OPTIONS, which reaches the `java` the SDK's wrapper scripts start.
 */
export const DEFAULT_EMULATOR_JVM_OPTIONS = '-XX:TieredStopAtLevel=1';

export function emulatorJvmOptions(env: NodeJS.ProcessEnv = process.env): string {
  return (env.MESH_EMULATOR_JVM_OPTS ?? DEFAULT_EMULATOR_JVM_OPTIONS).trim();
}

/** The environment additions that start an emulator's JVM with `jvmOptions` (default emulatorJvmOptions()). */
export function jvmEnv(jvmOptions: string = emulatorJvmOptions(), env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const combined = [env.JAVA_TOOL_OPTIONS, jvmOptions].filter((o) => o && o.trim()).join(' ');
  return combined ? { JAVA_TOOL_OPTIONS: combined } : {};
}

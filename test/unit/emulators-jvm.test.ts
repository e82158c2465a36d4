import { DEFAULT_EMULATOR_JVM_OPTIONS, emulatorJvmOptions, jvmEnv } from '../../shared/emulators/jvm';

describe('emulator JVM options', () => {
  it('default to C1 only; MESH_EMULATOR_JVM_OPTS replaces them, empty for the JVM defaults', () => {
    expect(emulatorJvmOptions({})).toBe('-XX:TieredStopAtLevel=1');
    expect(DEFAULT_EMULATOR_JVM_OPTIONS).toBe('-XX:TieredStopAtLevel=1');
    expect(emulatorJvmOptions({ MESH_EMULATOR_JVM_OPTS: ' -Xmx1g ' })).toBe('-Xmx1g');
    expect(emulatorJvmOptions({ MESH_EMULATOR_JVM_OPTS: '' })).toBe('');
  });

  it('are added to JAVA_TOOL_OPTIONS, keeping what the user set', () => {
    expect(jvmEnv('-XX:TieredStopAtLevel=1', {})).toEqual({ JAVA_TOOL_OPTIONS: '-XX:TieredStopAtLevel=1' });
    expect(jvmEnv('-XX:TieredStopAtLevel=1', { JAVA_TOOL_OPTIONS: '-Xmx2g' })).toEqual({ JAVA_TOOL_OPTIONS: '-Xmx2g -XX:TieredStopAtLevel=1' });
    expect(jvmEnv('', { JAVA_TOOL_OPTIONS: '-Xmx2g' })).toEqual({ JAVA_TOOL_OPTIONS: '-Xmx2g' });
    expect(jvmEnv('', {})).toEqual({});
  });
});

/**
 * `mesh <command>` loads only the module MODULES names for it (tools/commands/index.ts). If the map
 * and the modules drift apart, a command would be missing or a second module would be needed: each
 * name must be registered by its own module, and every registered command must be in the map.
 */
import { Command } from 'commander';
import { MODULES, loadCommands } from '../../tools/commands';

const registered = (register: (program: Command) => void) => {
  const program = new Command('mesh').option('--spec <file>');
  register(program);
  return program.commands.map((c) => c.name());
};

it('maps each command name to the module that registers it', async () => {
  for (const [name, load] of Object.entries(MODULES)) {
    expect({ name, registers: registered(await load()) }).toEqual({ name, registers: expect.arrayContaining([name]) });
  }
});

it('every command any module registers is in the map', async () => {
  const all = (await loadCommands()).flatMap(registered);
  expect(all.length).toBeGreaterThanOrEqual(Object.keys(MODULES).length);
  expect([...new Set(all)].sort()).toEqual(Object.keys(MODULES).sort());
});

it('loads a module once even when it registers two commands', async () => {
  const registers = await loadCommands(['pause', 'resume']);
  expect(registers).toHaveLength(1);
  expect(registered(registers[0])).toEqual(['pause', 'resume']);
});

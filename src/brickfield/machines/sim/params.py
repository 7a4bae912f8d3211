"""Physical constants of the machine simulator, each with its source or reasoning.

Units: metres, seconds, kilograms, newtons. Block masses are Besiege's catalog masses taken as
kilograms (a log weighs 1 kg, a boulder 5 kg); with gravity at 9.81 m/s^2 this keeps forces on the
same scale as the game's Unity/PhysX forces, so thresholds and motor limits can be reasoned about in
"block weights". Every value is overridable: ``PhysicsParams(timestep=0.01)`` or
``dataclasses.replace(params, ...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

ConnectionMode = Literal["fused", "welded"]

RPM_100 = 100.0 * 2.0 * math.pi / 60.0  # 10.472 rad/s


@dataclass(frozen=True)
class PhysicsParams:
    """All tunable physics constants (frozen, hashable, JSON-friendly via ``dataclasses.asdict``)."""

    # --- integration ---------------------------------------------------------------------------
    timestep: float = 0.005
    """MuJoCo step (s). Besiege runs PhysX at a 100 Hz fixed step. At 0.01 MuJoCo's default contact
    and limit time constant (0.02 s) is at its 2-step minimum; at 0.005 it spans 4 steps, which
    keeps stiff events (hinge stops, 5 m spawn drops, wheel servos) well resolved. Measured: the
    reference car and catapult score within 0.5 % of each other at 0.005 and 0.01, while on the
    141 placeable reference verdict trees the breakage verdict of a few borderline machines changes
    with the step; 0.005 costs 2x the time and still runs the 5 s episodes at ~300x (car) and
    ~200x (catapult) real time on one core (``benchmarks/machine_sim.py``). ``timestep=0.01``
    is a reasonable speed setting for large RL sweeps."""
    integrator: Literal["implicitfast", "euler", "rk4"] = "implicitfast"
    """``implicitfast`` integrates actuator/joint damping implicitly, which keeps the stiff velocity
    servos of powered wheels stable at large kv."""
    solver_iterations: int = 50
    """Maximum constraint-solver iterations per step (MuJoCo's default is 100; the Newton solver
    converges in a handful on these scenes, 50 only caps pathological ones)."""
    gravity: float = 9.81
    """m/s^2 (Besiege uses Unity's default -9.81 on y)."""

    # --- contact ---------------------------------------------------------------------------------
    ground_friction: float = 0.8
    """Sliding friction of the ground plane. MuJoCo combines geom frictions with max(), so this is
    the friction of any block on the ground unless the block's own friction is higher."""
    block_friction: float = 0.6
    """Wood on wood (typical 0.4-0.6)."""
    wheel_friction: float = 1.0
    """Rubber tyre; wheel-ground contacts therefore use 1.0. With 1.0 the best 4-wheel cars reach
    ~45 m in 5 s, matching the best BesiegeField car scores (41-46 m)."""
    wheel_solimp: tuple[float, float, float, float, float] = (0.0, 0.99, 0.05, 0.5, 2.0)
    """MuJoCo ``solimp`` of wheel colliders (powered and free cylinders): a compliant tyre. The
    impedance rises from 0 at first touch to 0.99 at 5 cm of penetration (MuJoCo's default is
    0.9-0.95 over 1 mm), so a loaded wheel sinks ~1.6 cm instead of ~0.1 mm. Why it matters: for
    a cylinder on a plane MuJoCo generates the lowest rim point plus, only if they penetrate too,
    the two other corners of an inscribed triangle; with the default stiffness a disc lying on its
    face has all three only while it is flat within ~0.005 deg, otherwise one rim point. A powered
    wheel facing down then slides on that single point at its 10 m/s rim speed, whose friction is
    an unbalanced sideways force that also tips the disc onto the next rim point: the
    ``car_wheels_down`` control hopped (airborne on 87% of its steps, contact peaks 23x its weight)
    and its centre of mass wandered 1.9 m on average in 5 s (16 perturbed starts; up to 3.5 m).
    The compliant tyre keeps the triangle in contact up to ~0.6 deg of tilt and pushes back in
    proportion to depth, so the disc lies flat on three points whose rim forces cancel: contact on
    every step, centre-of-mass drift 0.2 m on average (max 0.5 m, mostly the spawn-drop landing).
    It still spins on the spot (~3 rad/s): the rim forces cancel, their torques about the wheels
    add up, as for a real disc spinning on its face.
    Upright wheels keep their two tread contacts and just sag: the reference car scores 43.1 m
    (43.6 m with MuJoCo's default), 10.2 m/s. The tyre's softness wins over the ground's (and any
    other block's) through its ``solmix`` weight; level obstacles have contact priority (for their
    friction) and so keep MuJoCo's default stiffness against wheels too."""
    torsional_friction: float = 0.005
    """Torsional (spinning) friction coefficient (m), MuJoCo's default; only used by contacts with
    condim >= 4 (loose blocks)."""
    rolling_friction: float = 0.0001
    """Rolling friction coefficient (m), MuJoCo's default: negligible, and only used by condim-6
    contacts (blocks use condim 3; loose blocks use ``loose_rolling_friction``)."""
    loose_rolling_friction: float = 0.2
    """Rolling resistance (m) of loose blocks (boulder, bomb). They are modelled as spheres, but a
    boulder is an irregular rock that thuds and tumbles to a stop rather than rolling like a ball;
    0.2 m stops a boulder rolling at 10 m/s within ~5 s. MuJoCo ignores rolling friction unless
    the contact has condim 6, which loose blocks get."""
    obstacle_friction: float = 0.6
    """Default for level obstacles that do not set their own (level walls set 0: ``bmt-friction=0``)."""
    collider_gap: float = 0.02
    """Colliders are shrunk by this much on every side so that blocks touching face to face never
    start in contact (their mutual forces would fight the joints/welds). 2 cm is below anything
    visible at the 0.5 m placement grid."""

    # --- connections and breakage ---------------------------------------------------------------
    connection_mode: ConnectionMode = "fused"
    """How rigid attachments are modelled.
    ``fused``: every block is its own body, rigidly nested (jointless) in its parent's body, so the
    whole rigid group has 6 dofs (stack.md: 94k vs 3.9k steps/s). The load through each attachment
    is read from MuJoCo's RNE interaction force (``cfrc_int``), and a connection over its threshold
    is broken by recompiling the model with that block freed (state carried over).
    ``welded``: every rigid attachment is a free body held by a weld equality; a weld over its
    threshold is switched off with ``eq_active``. Slower and softer; kept for comparison."""
    breakable: bool = True
    """Whether connections can break at all (False: no force checks, lowest overhead)."""
    break_force: float = 12000.0
    """Newtons through one connection of a standard block before it detaches (the block and every
    block it carries come off). Besiege's vanilla thresholds are unpublished; a community mod for
    fighting robots sets 20k-90k (60k for a plain block). Block masses are Besiege's own units
    (taken as kg), so those numbers are in our units already, but they were tuned against PhysX's
    stiff 100 Hz contacts, whose one-step impulses give several times higher peak loads than
    MuJoCo's soft contacts (0.02 s time constant), and for sturdier-than-vanilla bots. We use one
    fifth of the plain-block value and checked it against measured loads
    (``tests/machines/test_physics.py``): the reference car and catapult in normal use peak at
    about 0.6 kN and 4 kN (hinge stop); the catapult also survives the 5 m spawn drop that
    BesiegeField's placement gives machines with linear blocks (peak ~8.6 kN m); a 10 m/s wall
    crash of the light reference car breaks nothing, while a 15 kg ballast tower dropped 5 m
    snaps its pole (16 kN), a crash of a ballasted car tears its front ballast off (15 kN) and a
    catapult with 10x band stiffness breaks its arm at the hinge stop (15 kN m)."""
    break_torque: float = 12000.0
    """Newton-metres about the connection point (same reasoning as ``break_force``)."""
    break_factor: dict[str, float] = field(default_factory=lambda: {
        "41": 40.0 / 60.0,   # wooden pole: 40k vs 60k in the community table (fragile)
        "22": 90.0 / 60.0,   # spinning block: 90k
        "13": 90.0 / 60.0,   # steering block
        "28": 90.0 / 60.0,   # steering hinge
    })
    """Per-type multipliers of the thresholds, keyed by block type id (ratios of the community
    table, anchored at the plain block = 1)."""
    break_check_every: int = 10
    """Python reads the connection loads every N steps (50 ms at dt=0.005). Loads of fused/joint
    connections come from per-step MuJoCo force/torque sensors with an N-sample history, so the
    peak of every step is seen and a break takes effect at most N steps late; weld forces
    (``welded`` mode) are only sampled at the check itself. One check costs about one step."""
    max_breaks: int = 32
    """Safety cap on recompilations per episode."""
    weld_solref: tuple[float, float] = (0.01, 1.0)
    """(time constant, damping ratio) of weld equalities in ``welded`` mode: as stiff as the
    timestep allows (time constant = 2 dt)."""

    # --- actuators -------------------------------------------------------------------------------
    wheel_speed: float = RPM_100
    """rad/s of powered wheels: ~100 rpm at speed 1 (BuildArena powered_wheel.yaml), i.e.
    10.5 m/s at radius 1, consistent with the ~41-46 m best 5 s car scores."""
    wheel_kv: float = 20.0
    """Velocity-servo gain (N m s/rad) of powered wheels; reaches the target speed within a few
    hundredths of a second when unloaded."""
    wheel_torque: float = 20.0
    """Torque limit (N m) per powered wheel. Two constraints bracket it. (1) Small cars must stay
    traction-limited as in the game: the reference car (5.25 kg on four r = 1 wheels, friction 1)
    needs mu m g r / 4 = 13 N m per wheel to use all its grip, so 20 N m leaves margin up to ~8 kg;
    heavier machines accelerate slower. (2) A plain car must not lift its own chassis: two rear
    wheels of the reference car need ~38 N m each to raise the log and the front axle (1.25 kg at
    1.5 m plus 2 kg at 3 m). The former 60 N m broke (2): after the 0.5 m spawn drop, during which
    the wheels spin up in the air and pitch the chassis nose-up by angular-momentum exchange, the
    rear motors kept the chassis rotating about the rear axle (the servo holds the wheel speed
    *relative to the chassis*, so a car rolling slower than the wheels' rim speed turns its chassis
    instead) and the car drove upside down from 3.6 s while still scoring 43.7 m. At 20 N m the
    landing tilt peaks at ~11 deg and settles within 0.5 s; the car scores ~43.1 m at 10.2 m/s
    (with ``wheel_solimp``'s compliant tyres), inside the best BesiegeField 5 s car scores (41-46 m,
    ~10 m/s)."""
    large_wheel_torque: float = 45.0
    """Large wheel (r = 1.5): ``wheel_torque`` scaled by radius^2 (20 x 2.25), i.e. the rim force
    scaled by the radius, as the former 60/135 pair was."""
    wheel_auto_brake: bool = False
    """Whether a key-driven powered wheel (the level's wheels are not automatic: fetch) brakes when
    its keys are released (velocity servo to 0) or spins freely. BesiegeField writes every powered
    wheel with ``bmt-auto-brake`` False, so it coasts; Besiege's own block default is True."""
    spinning_speed: float = RPM_100
    """Spinning block target speed (rad/s); assumed equal to the wheel motor at speed 1."""
    spinning_kv: float = 20.0
    """Velocity-servo gain (N m s/rad) of spinning blocks, as for wheels (``wheel_kv``)."""
    spinning_torque: float = 60.0
    """Torque limit (N m) of a spinning block: the former powered-wheel value, kept because a
    spinning block drives arms rather than a rolling chassis (it swings 2 kg at 3 m)."""
    spinning_automatic: bool = True
    """Spinning blocks run from t=0 like wheels (car levels hold no keys, and BesiegeField writes
    the spinning block with speed 1 and no key binding)."""
    steering_kp: float = 200.0
    """Position gain of steering hinges/blocks (N m/rad) towards their target angle (0 until
    steered; ``steering_speed`` moves the target)."""
    steering_kv: float = 15.0
    """Velocity gain (N m s/rad) of the steering servo: with ``steering_kp`` and a 1 kg wheel
    steered 0.5 m off the axis (I ~0.5 kg m^2) the damping ratio is ~0.5, so a steer settles
    without ringing."""
    steering_speed: float = 2.0
    """rad/s at which the target angle of a steering hinge/block turns while its left/right key is
    held; the angle is kept when the key is released (Besiege's ``bmt-autoReturn`` defaults to
    False). Besiege's ``bmt-rotation-speed`` 1 has no published unit; 2 rad/s (~115 deg/s) reaches
    the 90 deg stop in ~0.8 s, a quick but not instantaneous steer (chosen)."""
    steering_torque: float = 100.0
    """Torque limit (N m) of the steering servo: ~1.7x the 60 N m a spinning block gets, as the
    community break table rates steering blocks 1.5x (they must hold wheels under load)."""
    hinge_range_deg: float = 90.0
    """Passive hinge and steering hinge limits: +-90 degrees."""
    joint_damping: float = 0.05
    """Small viscous damping (N m s/rad) in passive joints (hinge, swivel, ball, free wheels)."""

    # --- suspension -------------------------------------------------------------------------------
    suspension_stiffness: float = 400.0
    """N/m; a 4-suspension car of ~8 kg sags ~5 cm."""
    suspension_damping: float = 20.0
    """N s/m; roughly critical for a 2 kg quarter-load."""
    suspension_travel: float = 0.5
    """Max compression/extension (m) of the suspension slider."""

    # --- rubber band (contractible spring) ----------------------------------------------------------
    band_stiffness: float = 100.0
    """N/m while contracting. BesiegeField writes ``bmt-slider=10`` (strength 10); we take 10 N/m
    per unit of strength. A 4 m band then pulls with 400 N, enough to swing a 5 kg boulder on a
    3 m arm well above the 3 m height gate, giving catapult throws of the order of the paper's
    best scores."""
    band_rest_length: float = 0.0
    """Length the band contracts towards while its key is held."""
    band_damping: float = 2.0
    """N s/m along the band while contracting."""
    band_max_force: float = 800.0
    """N; caps the pull of long bands."""
    band_key: str = "L"
    """Default contract key (BesiegeField writes ``bmt-contract=L``). ``controls`` uses it as the
    rubber band's default binding, ``CompiledMachine.ctrl_for`` as its only key."""

    # --- winch (rope of variable length; keys in brickfield.machines.sim.controls) --------------------
    winch_speed: float = 2.0
    """m/s at which a winch reels in (contract key) or pays out (unwind key). Besiege's
    ``bmt-slider`` (1 by default) has no published unit. Chosen for the fetch script, which holds
    unwind and then contract for 10 s each over a well whose floor is ~13 m below the spawn
    platform: 2 m/s lowers and raises a hook through it with margin (20 m per 10 s hold)."""
    winch_stiffness: float = 5000.0
    """N/m of the rope when taut (a stiff spring stands in for an inextensible rope): a 5 kg load
    stretches it 1 cm. With the lightest load a machine can hang (0.5 kg) the spring's period is
    63 ms, 12 steps at dt = 0.005, so the explicit spring stays stable."""
    winch_damping: float = 100.0
    """N s/m along a taut rope (damping ratio ~0.3 for a 5 kg load, ~1 for 0.5 kg)."""
    winch_max_force: float = 3000.0
    """N; the rope pulls at most this hard (~60x the 2 kg iron ore, so load never stalls it; well
    below the 12 kN break force of the blocks it pulls on)."""
    winch_min_length: float = 0.5
    """m; reeling in stops at this rope length."""
    winch_max_length: float = 40.0
    """m; paying out stops at this rope length (longer than any level needs)."""

    # --- decoupler and grabber ----------------------------------------------------------------------
    decoupler_impulse: float = 2.0
    """N s pushing the two halves of a fired decoupler apart along its axis (equal and opposite,
    momentum conserved). Besiege's decoupler fires with a small explosion whose strength is not
    published; 2 N s moves a 1 kg part at 2 m/s, a visible but gentle separation (chosen)."""
    grab_static: bool = False
    """Whether grabbers also grab static world geometry (ground, level obstacles), welding the
    block to the world. Besiege's grabber default ``bmt-grab-static`` is False (block data of saved
    machines); when False they grab dynamic bodies only (the iron ore, boulders, loose objects)."""
    grab_front: float = 0.6
    """A contact grabs only on the grabber's front ("GrabDirections: Front" in BesiegeField's
    block notes): the contact point must lie beyond this fraction of the block's 1 m depth from
    its mounting face (the front face is at 1.0 minus the collider gap)."""
    grab_check_every: int = 2
    """Steps between contact scans for grabs (10 ms at dt = 0.005) while a grabbable body is within
    reach of a grabber that can grab. A light object bounces off a grabber within a few steps of
    touching it: measured, a car reversing at ~3 m/s into a 0.5 kg bomb knocked it away between
    10-step checks, while 2-step checks caught it."""
    grab_check_max: int = 20
    """Longest gap (steps; 0.1 s) between grab checks while every grabbable body is out of reach.
    In between, each check bounds when a body could first touch a grabber: the gap between their
    bounding spheres against twice the current closing speed plus ``grab_reach_accel``; nothing is
    looked at before then (a grabber that holds something, or is held open, is not checked at all).
    Only a body knocked towards a grabber by an impact it has not seen yet (its speed jumps) can
    arrive early, and is then seen at most ``grab_check_max`` steps late."""
    grab_reach_accel: float = 40.0
    """m/s^2 of closing acceleration assumed between grab checks (about 4 g: a falling object, a
    car braking or accelerating at full grip), on top of twice the current closing speed."""
    grab_solref: tuple[float, float] = (0.02, 1.0)
    """(time constant, damping ratio) of a grab's weld: MuJoCo's default constraint softness,
    stiff enough to hold the 2 kg ore with millimetre sag."""

    # --- blow-up detection -------------------------------------------------------------------------
    max_speed: float = 500.0
    """m/s (or rad/s for angular dofs): any generalized velocity above this ends the episode as
    invalid (runaway energy)."""
    max_extent: float = 5000.0
    """m from the origin: anything farther ends the episode as invalid."""

    # --- level world: wind and loose objects --------------------------------------------------------
    wind_acceleration: float = 2.0
    """m/s^2 that a level's wind gives each body it blows on (force = body mass x this, along the
    wind direction), used when the level file does not store a strength (none does: the editor
    default is not written). Our choice: 2 m/s^2 is a fifth of gravity, enough to visibly bend a
    throw (catapult_level7's downward wind drops a 2 s flight by ~4 m) without pinning objects
    down. A level's ``Wind.strength`` (e.g. from ``make_variant(..., wind=3.0)``) overrides it, in
    the same unit."""
    wind_on_blocks: bool = False
    """Whether wind also pushes the machine's blocks. Off by default: BesiegeField's wind levels
    are about the thrown boulder, and a per-mass push on every block would just act like a tilted
    gravity on the whole machine. Loose blocks (boulder, bomb), goal objects and dynamic level
    objects are always blown."""
    goal_friction: float = 0.6
    """Sliding friction of goal objects and dynamic level objects (iron ore, characters)."""

    def threshold(self, type_id: str) -> tuple[float, float]:
        """(force N, torque N m) at which a connection of block type ``type_id`` breaks."""
        k = self.break_factor.get(type_id, 1.0)
        return self.break_force * k, self.break_torque * k

    def __hash__(self) -> int:  # dict field: hash by the immutable view
        items = tuple((k, v if not isinstance(v, dict) else tuple(sorted(v.items())))
                      for k, v in self.__dict__.items())
        return hash(items)


DEFAULT_PARAMS = PhysicsParams()

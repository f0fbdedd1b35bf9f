/**
 * Calibration targets for synthetic data, from the published REES46 figures
 * (/work/shared/rees46-profile.md, Oct/Nov 2019). Shares are fractions of all events unless noted.
 * The tunable model constants that produce these figures live beside the code that uses them.
 */

/** Events per day of the real October file (42.4M rows / 31 days ≈ 1.37M). */
export const DEFAULT_EVENTS_PER_DAY = 1_400_000;

export const DEFAULT_START = '2019-10-01';

/** Share of October events by UTC hour 00…23 (percent; normalised where used). */
export const HOUR_SHARES = [
  0.72, 1.32, 2.52, 3.65, 4.51, 5.01, 5.35, 5.5, 5.63, 5.54, 5.41, 5.17, 5.04, 5.55, 6.31, 7.02, 7.2, 6.44,
  5.01, 3.16, 1.75, 1.03, 0.64, 0.52,
];

/**
 * Share of session starts by UTC hour, fitted by simulation (see docs/generator.md)
 * so that the events, which trail their session's start by seconds to hours, follow HOUR_SHARES.
 */
export const ARRIVAL_SHARES = [
  0.49, 1.2, 2.65, 4.03, 4.9, 5.35, 5.71, 5.71, 5.79, 5.58, 5.41, 5.17, 5.09, 5.57, 6.57, 7.2, 7.41, 6.5, 4.8,
  2.72, 1.17, 0.5, 0.24, 0.22,
];

/** Weekends are a little busier (relative day weight, Sunday first). */
export const WEEKDAY_FACTORS = [1.07, 0.97, 0.97, 0.97, 0.98, 1.0, 1.07];

/** Target event mix between the October and November figures, plus a small remove_from_cart share. */
export const EVENT_MIX = { view: 0.949, cart: 0.031, remove_from_cart: 0.005, purchase: 0.015 };

/**
 * Events per session: quantile knots (u → continuous size; the size drawn is its floor), interpolated
 * as a power law in the survival 1 − u, which is how the tail of session sizes falls off.
 */
export const SESSION_SIZE_KNOTS: ReadonlyArray<readonly [number, number]> = [
  [0.35, 2], // 35 % single-event sessions
  [0.51, 3], // median 2
  [0.765, 6], // p75 5
  [0.91, 12], // p90 11
  [0.991, 33], // p99 32
  [0.999, 90],
  [0.9999, 280],
  [0.99999, 700],
  [1, 1200], // a few sessions of hundreds of events, up to ~1,200
];

/** Event-weighted price quantiles of October (p0 is the smallest non-zero price). */
export const PRICE_KNOTS: ReadonlyArray<readonly [number, number]> = [
  [0, 0.77],
  [0.05, 18.29],
  [0.25, 65.96],
  [0.5, 163.0],
  [0.75, 356.52],
  [0.9, 743.39],
  [0.95, 1022.16],
  [0.99, 1727.48],
  [1, 2574.07],
];

/** Share of rows with price 0 (products that are never carted or bought). */
export const ZERO_PRICE_SHARE = 0.002;

/** Share of events with an empty category_code / brand. */
export const EMPTY_CATEGORY_CODE_SHARE = 0.32;
export const EMPTY_BRAND_SHARE = 0.14;

/** Rows with an empty user_session: "a handful" (a few per million). */
export const EMPTY_SESSION_SHARE = 4e-6;

/** Exact duplicate rows as a share of all rows, and how they split by event type. */
export const DUPLICATE_SHARE = 0.001;
export const DUPLICATE_TYPE_SPLIT = { view: 0.35, cart: 0.55, remove_from_cart: 0.02, purchase: 0.08 };

/** Total number of category ids and of category ids carrying a code (the rest have no code). */
export const CATEGORY_IDS = 600;

/** Product popularity: catalog size per event and its bounds (the distinct-product count of a month). */
export const EVENTS_PER_PRODUCT = 250;
export const MIN_PRODUCTS = 5_000;
export const MAX_PRODUCTS = 170_000;

/** Named category codes with their published share of all events (October). */
export const TOP_CATEGORY_CODES: ReadonlyArray<readonly [string, number]> = [
  ['electronics.smartphone', 0.271],
  ['electronics.clocks', 0.031],
  ['computers.notebook', 0.027],
  ['electronics.video.tv', 0.026],
  ['electronics.audio.headphone', 0.026],
  ['appliances.kitchen.refrigerators', 0.021],
  ['appliances.kitchen.washer', 0.021],
  ['appliances.environment.vacuum', 0.019],
  ['apparel.shoes', 0.018],
  ['auto.accessories.player', 0.011],
];

/**
 * The rest of the coded categories share what is left of the 68 % coded events, split by depth so that
 * depth 2 is ~41 % of all events, depth 3 ~27 % and depth 4 ~0.1 % (Oct: 17.4M / 11.5M / 36k rows).
 */
export const OTHER_DEPTH2_SHARE = 0.063;
export const OTHER_DEPTH3_SHARE = 0.146;
export const OTHER_DEPTH4_SHARE = 0.001;

export const OTHER_DEPTH2_CODES = [
  'electronics.tablet',
  'electronics.telephone',
  'computers.desktop',
  'computers.ebooks',
  'appliances.iron',
  'appliances.sewing_machine',
  'appliances.ironing_board',
  'kids.toys',
  'kids.carriage',
  'kids.skates',
  'kids.swing',
  'kids.dolls',
  'sport.bicycle',
  'sport.trainer',
  'sport.tennis',
  'sport.ski',
  'sport.snowboard',
  'apparel.costume',
  'apparel.jeans',
  'apparel.shirt',
  'apparel.tshirt',
  'apparel.trousers',
  'apparel.skirt',
  'apparel.jacket',
  'apparel.belt',
  'apparel.scarf',
  'apparel.glove',
  'apparel.sock',
  'apparel.underwear',
  'accessories.bag',
  'accessories.wallet',
  'accessories.umbrella',
  'stationery.cartrige',
  'country_yard.lawn_mower',
  'country_yard.cultivator',
  'country_yard.weather_station',
];

export const OTHER_DEPTH3_CODES = [
  'computers.peripherals.printer',
  'computers.peripherals.mouse',
  'computers.peripherals.keyboard',
  'computers.peripherals.monitor',
  'computers.peripherals.camera',
  'computers.peripherals.scanner',
  'computers.peripherals.joystick',
  'computers.components.videocards',
  'computers.components.cpu',
  'computers.components.memory',
  'computers.components.hdd',
  'computers.components.motherboard',
  'computers.components.power_supply',
  'computers.components.cooler',
  'computers.components.sound_card',
  'computers.network.router',
  'electronics.audio.acoustic',
  'electronics.audio.subwoofer',
  'electronics.audio.microphone',
  'electronics.audio.dictaphone',
  'electronics.camera.photo',
  'electronics.camera.video',
  'electronics.video.projector',
  'appliances.kitchen.microwave',
  'appliances.kitchen.kettle',
  'appliances.kitchen.blender',
  'appliances.kitchen.mixer',
  'appliances.kitchen.juicer',
  'appliances.kitchen.meat_grinder',
  'appliances.kitchen.oven',
  'appliances.kitchen.hood',
  'appliances.kitchen.hob',
  'appliances.kitchen.dishwasher',
  'appliances.kitchen.toster',
  'appliances.kitchen.coffee_machine',
  'appliances.kitchen.grill',
  'appliances.kitchen.fryer',
  'appliances.kitchen.steam_cooker',
  'appliances.kitchen.coffee_grinder',
  'appliances.environment.water_heater',
  'appliances.environment.air_heater',
  'appliances.environment.air_conditioner',
  'appliances.environment.fan',
  'appliances.environment.climate',
  'appliances.personal.massager',
  'appliances.personal.scales',
  'appliances.personal.hair_cutter',
  'furniture.living_room.sofa',
  'furniture.living_room.cabinet',
  'furniture.living_room.chair',
  'furniture.living_room.shelving',
  'furniture.bedroom.bed',
  'furniture.bedroom.pillow',
  'furniture.bedroom.blanket',
  'furniture.kitchen.table',
  'furniture.kitchen.chair',
  'furniture.bathroom.bath',
  'furniture.bathroom.toilet',
  'furniture.universal.light',
  'auto.accessories.alarm',
  'auto.accessories.compressor',
  'auto.accessories.radar',
  'auto.accessories.videoregister',
  'auto.accessories.winch',
  'auto.accessories.parktronic',
  'construction.tools.light',
  'construction.tools.drill',
  'construction.tools.saw',
  'construction.tools.welding',
  'construction.tools.generator',
  'construction.tools.pump',
  'construction.tools.screw',
  'construction.tools.heater',
  'construction.tools.painting',
  'construction.components.faucet',
  'country_yard.furniture.hammok',
  'medicine.tools.tonometer',
  'kids.fmcg.diapers',
  'apparel.shoes.keds',
  'apparel.shoes.sandals',
  'apparel.shoes.slipons',
  'apparel.shoes.step_ins',
  'apparel.shoes.ballet_shoes',
  'apparel.shoes.espadrilles',
  'apparel.shoes.moccasins',
];

export const OTHER_DEPTH4_CODES = ['electronics.audio.music_tools.piano'];

/** Typical price of a category by code prefix (the longest prefix wins); only ranks matter. */
export const PRICE_LEVELS: ReadonlyArray<readonly [string, number]> = [
  ['electronics.smartphone', 260],
  ['computers.notebook', 560],
  ['computers.desktop', 620],
  ['electronics.video.tv', 420],
  ['electronics.tablet', 300],
  ['appliances.kitchen.refrigerators', 520],
  ['appliances.kitchen.washer', 330],
  ['appliances.kitchen.dishwasher', 380],
  ['appliances.environment.vacuum', 160],
  ['appliances.environment.air_conditioner', 420],
  ['electronics.clocks', 150],
  ['electronics.audio.headphone', 70],
  ['electronics.camera', 450],
  ['computers.components.videocards', 350],
  ['computers.peripherals.monitor', 220],
  ['apparel.shoes', 60],
  ['auto.accessories.player', 40],
  ['electronics', 150],
  ['computers', 120],
  ['appliances', 110],
  ['furniture', 160],
  ['apparel', 45],
  ['kids', 45],
  ['sport', 150],
  ['auto', 70],
  ['construction', 90],
  ['country_yard', 160],
  ['accessories', 35],
  ['stationery', 20],
  ['medicine', 40],
];

/** Brands with their published share of all events (October) and the categories they sell in. */
export interface BrandSpec {
  name: string;
  share: number;
  /** Category code prefixes; `''` stands for categories without a code. */
  sells: readonly string[];
}

const PHONE_MAKER = [
  'electronics.smartphone',
  'electronics.clocks',
  'electronics.audio.headphone',
  'electronics.tablet',
];

export const NAMED_BRANDS: readonly BrandSpec[] = [
  {
    name: 'samsung',
    share: 0.125,
    sells: [
      ...PHONE_MAKER,
      'electronics.video.tv',
      'appliances.kitchen.refrigerators',
      'appliances.kitchen.washer',
      'appliances.kitchen.microwave',
      'appliances.environment.vacuum',
      'computers.peripherals.monitor',
      'computers.components.hdd',
    ],
  },
  {
    name: 'apple',
    share: 0.097,
    sells: [...PHONE_MAKER, 'computers.notebook', 'computers.desktop', 'computers.peripherals'],
  },
  {
    name: 'xiaomi',
    share: 0.073,
    sells: [
      ...PHONE_MAKER,
      'electronics.video.tv',
      'appliances.environment.vacuum',
      'appliances.personal.scales',
      'appliances.kitchen.kettle',
      'computers.network.router',
      'sport.bicycle',
    ],
  },
  { name: 'huawei', share: 0.026, sells: [...PHONE_MAKER, 'computers.notebook', 'computers.network.router'] },
  { name: 'lucente', share: 0.016, sells: ['', 'furniture.universal.light', 'construction.tools.light'] },
  {
    name: 'lg',
    share: 0.013,
    sells: [
      'electronics.smartphone',
      'electronics.video.tv',
      'appliances.kitchen.refrigerators',
      'appliances.kitchen.washer',
      'appliances.kitchen.microwave',
      'appliances.environment.vacuum',
      'computers.peripherals.monitor',
    ],
  },
  {
    name: 'bosch',
    share: 0.013,
    sells: [
      'appliances.kitchen',
      'appliances.environment.vacuum',
      'appliances.iron',
      'construction.tools',
      'auto.accessories',
    ],
  },
  { name: 'oppo', share: 0.011, sells: ['electronics.smartphone', 'electronics.audio.headphone'] },
  {
    name: 'sony',
    share: 0.011,
    sells: ['electronics.video.tv', 'electronics.audio', 'electronics.camera', 'electronics.smartphone'],
  },
  {
    name: 'acer',
    share: 0.01,
    sells: ['computers.notebook', 'computers.desktop', 'computers.peripherals.monitor'],
  },
  { name: 'lenovo', share: 0.009, sells: ['computers.notebook', 'computers.desktop', 'electronics.tablet'] },
  { name: 'hp', share: 0.008, sells: ['computers.notebook', 'computers.desktop', 'computers.peripherals'] },
  { name: 'asus', share: 0.007, sells: ['computers', 'electronics.smartphone'] },
  { name: 'artel', share: 0.007, sells: ['electronics.video.tv', 'appliances'] },
  { name: 'indesit', share: 0.005, sells: ['appliances.kitchen.washer', 'appliances.kitchen.refrigerators'] },
  { name: 'beko', share: 0.005, sells: ['appliances.kitchen'] },
  { name: 'redmond', share: 0.004, sells: ['appliances.kitchen', 'appliances.personal'] },
  { name: 'philips', share: 0.004, sells: ['appliances', 'electronics.audio', 'electronics.video.tv'] },
  { name: 'tefal', share: 0.004, sells: ['appliances.kitchen', 'appliances.iron', ''] },
  { name: 'polaris', share: 0.004, sells: ['appliances', ''] },
  { name: 'elenberg', share: 0.003, sells: ['appliances', 'electronics.video.tv'] },
  { name: 'meizu', share: 0.003, sells: ['electronics.smartphone', 'electronics.audio.headphone'] },
  { name: 'vivo', share: 0.003, sells: ['electronics.smartphone'] },
  { name: 'honor', share: 0.003, sells: ['electronics.smartphone', 'electronics.clocks'] },
  { name: 'nokia', share: 0.003, sells: ['electronics.smartphone', 'electronics.telephone'] },
  { name: 'canon', share: 0.003, sells: ['electronics.camera', 'computers.peripherals.printer'] },
  { name: 'jbl', share: 0.003, sells: ['electronics.audio'] },
  {
    name: 'haier',
    share: 0.003,
    sells: ['appliances.kitchen', 'electronics.video.tv', 'appliances.environment'],
  },
  { name: 'midea', share: 0.003, sells: ['appliances'] },
  { name: 'kitfort', share: 0.002, sells: ['appliances.kitchen', 'appliances.environment.vacuum'] },
  { name: 'vitek', share: 0.002, sells: ['appliances'] },
  { name: 'respect', share: 0.003, sells: ['apparel', ''] },
  { name: 'rondell', share: 0.002, sells: ['', 'appliances.kitchen'] },
  { name: 'cordiant', share: 0.003, sells: [''] },
  { name: 'casio', share: 0.002, sells: ['electronics.clocks', 'electronics.audio.music_tools'] },
  { name: 'garmin', share: 0.002, sells: ['electronics.clocks', 'auto.accessories'] },
  { name: 'dyson', share: 0.002, sells: ['appliances.environment'] },
  { name: 'karcher', share: 0.002, sells: ['appliances.environment.vacuum', 'construction.tools'] },
  { name: 'makita', share: 0.002, sells: ['construction.tools', 'country_yard'] },
  { name: 'delonghi', share: 0.002, sells: ['appliances.kitchen', 'appliances.environment'] },
];

/** Long-tail brands: how many per product (capped) and their total share (Zipf-shaped among them). */
export const PRODUCTS_PER_BRAND = 48;
export const MIN_TAIL_BRANDS = 600;
export const MAX_TAIL_BRANDS = 3_400;

/** Category prefixes where products often carry no brand (besides categories without a code). */
export const UNBRANDED_PREFIXES = [
  '',
  'apparel',
  'furniture',
  'kids',
  'accessories',
  'stationery',
  'construction',
  'country_yard',
  'sport',
  'medicine',
  'auto',
];

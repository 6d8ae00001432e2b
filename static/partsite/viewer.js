// The part page's 3D view: the revision's GLB with orbit, zoom, pan, fit to view and wireframe.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { MeshoptDecoder } from "three/addons/libs/meshopt_decoder.module.js";

const host = document.querySelector(".viewer[data-model-url]");
const canvas = host.querySelector("canvas");
const statusLine = host.querySelector(".viewer-status");
const panel = host.closest(".viewer-panel");

function fail(message) {
  host.dataset.state = "error";
  statusLine.textContent = message;
}

let renderer;
try {
  renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
} catch (error) {
  fail("This browser cannot show 3D (WebGL is off). Download the STEP file instead.");
  throw error;
}
renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));

const scene = new THREE.Scene();
scene.background = new THREE.Color(0xeef2f6);
scene.add(new THREE.HemisphereLight(0xffffff, 0x8d99a6, 1.7));
const sun = new THREE.DirectionalLight(0xffffff, 1.8);
scene.add(sun);

const camera = new THREE.PerspectiveCamera(40, 1, 0.1, 1000);
const controls = new OrbitControls(camera, canvas);
controls.enableDamping = false;
controls.listenToKeyEvents(canvas); // arrow keys pan once the view has focus
controls.addEventListener("change", render);

let model = null;
let wireframe = false;
const outline = new THREE.LineBasicMaterial({ color: 0x1f2937, transparent: true, opacity: 0.55 });

function render() {
  sun.position.copy(camera.position);
  renderer.render(scene, camera);
}

function resize() {
  const { clientWidth: width, clientHeight: height } = host;
  if (!width || !height) return;
  renderer.setSize(width, height, false);
  camera.aspect = width / height;
  camera.updateProjectionMatrix();
  render();
}

function fit() {
  if (!model) return;
  const box = new THREE.Box3().setFromObject(model);
  const size = box.getSize(new THREE.Vector3());
  const centre = box.getCenter(new THREE.Vector3());
  const radius = Math.max(size.length() / 2, 1e-6);
  const distance = radius / Math.sin(THREE.MathUtils.degToRad(camera.fov / 2)) * 1.05;
  const direction = new THREE.Vector3(1, 0.8, 1.2).normalize();
  camera.position.copy(centre).addScaledVector(direction, distance);
  camera.near = distance / 100;
  camera.far = distance * 100;
  camera.updateProjectionMatrix();
  controls.target.copy(centre);
  controls.update();
  render();
}

function setWireframe(on) {
  wireframe = on;
  if (!model) return;
  model.traverse((node) => {
    if (node.isMesh) {
      for (const material of [].concat(node.material)) material.wireframe = on;
    }
  });
  outline.visible = !on;
  render();
}

function sizeInMillimetres(box) {
  // GLB is in metres; the server's measurement (bbox_mm) is preferred when it has one.
  const known = (host.dataset.bbox || "").split(",").filter(Boolean).map(Number);
  if (known.length === 3) return known;
  const size = box.getSize(new THREE.Vector3());
  return [size.x * 1000, size.y * 1000, size.z * 1000];
}

new ResizeObserver(resize).observe(host);
resize();

// Loading a model, with a progress bar for big ones. Large models are served meshopt-compressed
// (files.compact), small ones as converted.

const progressBar = host.querySelector(".viewer-progress");

function modelLoader() {
  return new GLTFLoader().setMeshoptDecoder(MeshoptDecoder);
}

function showProgress(event) {
  if (!progressBar || !event.total) return;
  progressBar.hidden = false;
  progressBar.value = Math.floor((event.loaded / event.total) * 100);
  statusLine.textContent = `Loading the 3D model… ${progressBar.value} %`;
}

// The model as the page draws it: its own colours, softened, with its sharp edges outlined. A coarse
// version is drawn without the outline: finding the edges walks every triangle on the main thread,
// and a simplified mesh's edges are not the part's.
function prepare(gltf, outlined = true) {
  const loaded = gltf.scene;
  const meshes = [];
  loaded.traverse((node) => {
    if (node.isMesh) meshes.push(node);
  });
  for (const mesh of meshes) {
    if (!mesh.material?.isMeshStandardMaterial) {
      mesh.material = new THREE.MeshStandardMaterial({ color: 0x9fb3c8 });
    }
    // glTF's default is fully metallic, which looks flat and dark without reflections to show.
    mesh.material.metalness = Math.min(mesh.material.metalness, 0.25);
    mesh.material.roughness = Math.max(mesh.material.roughness, 0.55);
    mesh.material.side = THREE.DoubleSide;
    mesh.material.polygonOffset = true; // keep the outline drawn on top of the faces
    mesh.material.polygonOffsetFactor = 1;
    mesh.material.polygonOffsetUnits = 1;
    if (!outlined) continue;
    // The model's sharp edges, as a CAD program draws them.
    const edges = new THREE.LineSegments(new THREE.EdgesGeometry(mesh.geometry, 30), outline);
    edges.userData.outline = true;
    mesh.add(edges);
  }
  return loaded;
}

function loadModel(url, outlined = true) {
  host.dataset.state = "loading";
  if (progressBar) progressBar.value = 0;
  return new Promise((resolve, reject) => {
    modelLoader().load(url, (gltf) => resolve(prepare(gltf, outlined)), showProgress, reject);
  }).finally(() => {
    if (progressBar) progressBar.hidden = true;
  });
}

function formatSize([x, y, z]) {
  return `${x.toFixed(1)} × ${y.toFixed(1)} × ${z.toFixed(1)} mm`;
}

// Show a loaded model in place of the one shown, if any; `refit` unless it replaces its own coarse
// version (the camera the person has set is kept).
function show(loaded, bbox, detail, refit = true) {
  if (model) scene.remove(model);
  model = loaded;
  host.dataset.bbox = bbox || "";
  scene.add(model);
  if (wireframe) setWireframe(true);
  if (refit) fit();
  else render();
  panel.querySelector('[data-viewer="size"]').textContent = formatSize(
    sizeInMillimetres(new THREE.Box3().setFromObject(model)),
  );
  host.dataset.detail = detail;
  host.dataset.state = "ready";
  statusLine.textContent = "";
}

// A large model may have a coarse version (files.compact): drawn first, then replaced by the full
// model, fetched once the coarse one is drawn so that the two do not compete for the network.
async function showMain(url, bbox, coarseUrl) {
  let coarseShown = false;
  try {
    if (coarseUrl) {
      try {
        show(await loadModel(coarseUrl, false), bbox, "coarse");
        coarseShown = true;
        await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      } catch (error) {
        // The full model follows anyway.
      }
    }
    show(await loadModel(url), bbox, "full", !coarseShown);
  } catch (error) {
    fail("The 3D model could not be loaded. Reload the page to try again.");
  }
}

showMain(host.dataset.modelUrl, host.dataset.bbox, host.dataset.coarseUrl);

panel.querySelector('[data-viewer="fit"]').addEventListener("click", fit);
const wireframeButton = panel.querySelector('[data-viewer="wireframe"]');
wireframeButton.addEventListener("click", () => {
  if (!model) return;
  setWireframe(!wireframe);
  wireframeButton.setAttribute("aria-pressed", String(wireframe));
});

// The revision picker: every revision with a model, by its thumbnail; one click shows it.

for (const choice of panel.querySelectorAll(".revision-choice")) {
  choice.addEventListener("click", async () => {
    for (const other of panel.querySelectorAll(".revision-choice")) other.setAttribute("aria-pressed", "false");
    choice.setAttribute("aria-pressed", "true");
    canvas.dataset.label = choice.dataset.label;
    canvas.setAttribute("aria-label", `3D view of ${choice.dataset.title}`);
    panel.querySelector('[data-viewer="shown"]').textContent = choice.dataset.title;
    clearComparison();
    await showMain(choice.dataset.modelUrl, choice.dataset.bbox);
  });
}

// Compare mode: a second revision overlaid on the shown one, each in its own colour, with the
// difference of their sizes.

const COMPARE_COLOURS = { shown: 0x2563eb, other: 0xea580c };
let compared = null;
const compareSelect = panel.querySelector('[data-viewer="compare"]');
const legend = panel.querySelector('[data-viewer="legend"]');

function paint(group, colour) {
  group.traverse((node) => {
    if (node.isMesh) {
      node.material = node.material.clone();
      node.material.color.setHex(colour);
      node.material.transparent = true;
      node.material.opacity = 0.55;
      node.material.depthWrite = false;
    }
  });
}

function restoreMainColours() {
  if (!model) return;
  model.traverse((node) => {
    if (node.isMesh && node.material.transparent) {
      node.material.transparent = false;
      node.material.opacity = 1;
      node.material.depthWrite = true;
      node.material.color.setHex(0x9fb3c8);
    }
  });
}

function clearComparison() {
  if (compared) scene.remove(compared);
  compared = null;
  restoreMainColours();
  if (legend) legend.hidden = true;
  if (compareSelect) compareSelect.value = "";
  render();
}

function sizeOf(group, bbox) {
  const known = (bbox || "").split(",").filter(Boolean).map(Number);
  if (known.length === 3) return known;
  const size = new THREE.Box3().setFromObject(group).getSize(new THREE.Vector3());
  return [size.x * 1000, size.y * 1000, size.z * 1000];
}

const signed = (value) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(1)}`;

if (compareSelect) {
  compareSelect.addEventListener("change", async () => {
    const option = compareSelect.selectedOptions[0];
    if (compared) scene.remove(compared);
    compared = null;
    if (!option.value) {
      clearComparison();
      return;
    }
    try {
      compared = await loadModel(option.value);
    } catch (error) {
      fail("The revision to compare with could not be loaded.");
      return;
    }
    paint(model, COMPARE_COLOURS.shown);
    paint(compared, COMPARE_COLOURS.other);
    scene.add(compared);
    fit();
    host.dataset.state = "comparing";
    statusLine.textContent = "";
    const shownSize = sizeOf(model, host.dataset.bbox);
    const otherSize = sizeOf(compared, option.dataset.bbox);
    const difference = otherSize.map((value, axis) => value - shownSize[axis]);
    legend.hidden = false;
    legend.innerHTML = "";
    const entries = [
      ["shown", `${canvas.dataset.label}: ${formatSize(shownSize)}`],
      ["other", `${option.dataset.label}: ${formatSize(otherSize)}`],
    ];
    for (const [which, text] of entries) {
      const item = document.createElement("span");
      item.className = `swatch swatch-${which}`;
      item.textContent = text;
      legend.append(item);
    }
    const change = document.createElement("span");
    change.className = "size-difference";
    change.textContent = `${option.dataset.label} − ${canvas.dataset.label}: ${difference.map(signed).join(" × ")} mm`;
    legend.append(change);
  });
}

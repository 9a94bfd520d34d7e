/** The fleet: devices in the field, their drift from the training data, field windows to samples. */
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";

export type FleetDevice = Schemas["DeviceOut"];
export type Drift = Schemas["DriftOut"];
export type FleetDrift = Schemas["FleetDriftOut"];
export type FeatureDrift = Schemas["FeatureDriftOut"];

export const fleetKeys = {
  devices: (projectId: number) => ["project", projectId, "fleet", "devices"] as const,
  drift: (projectId: number) => ["project", projectId, "fleet", "drift"] as const,
};

// Devices report on their own schedule; the page looks again at this pace.
const POLL_MS = 15_000;

export function useFleetDevices(projectId: number) {
  return useQuery({
    queryKey: fleetKeys.devices(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/fleet/devices", { params: { path: { project_id: projectId } } })),
    refetchInterval: POLL_MS,
  });
}

export function useFleetDrift(projectId: number, enabled: boolean) {
  return useQuery({
    queryKey: fleetKeys.drift(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/fleet/drift", { params: { path: { project_id: projectId } } })),
    refetchInterval: POLL_MS,
    enabled,
  });
}

/** Turns the device's sampled raw windows into unlabelled samples of the project. */
export function fieldWindowsToSamples(projectId: number, deviceId: number) {
  return unwrap(
    api.POST("/api/projects/{project_id}/fleet/devices/{device_id}/samples", {
      params: { path: { project_id: projectId, device_id: deviceId } },
      body: {},
    }),
  );
}

export function deleteDevice(projectId: number, deviceId: number) {
  return unwrap(api.DELETE("/api/projects/{project_id}/fleet/devices/{device_id}", { params: { path: { project_id: projectId, device_id: deviceId } } }));
}

export function updateDevice(projectId: number, deviceId: number, body: Schemas["DeviceUpdate"]) {
  return unwrap(api.PATCH("/api/projects/{project_id}/fleet/devices/{device_id}", { params: { path: { project_id: projectId, device_id: deviceId } }, body }));
}

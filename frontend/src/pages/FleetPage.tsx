/** Fleet: the devices running the project's models, whether their field data drifts from the training data, and field windows to review. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useOutletContext } from "react-router-dom";
import type { Project } from "../api/client";
import { deleteDevice, fieldWindowsToSamples, fleetKeys, useFleetDevices, useFleetDrift, type Drift, type FleetDevice } from "../api/fleet";
import { atLeast, refresh } from "../api/queries";
import { DeviceEditor } from "../components/fleet/DeviceEditor";
import { DeviceTable } from "../components/fleet/DeviceTable";
import { DriftCard } from "../components/fleet/DriftCard";
import { RegisterHelp } from "../components/fleet/RegisterHelp";
import { Card, EmptyState, ErrorNote, Loading } from "../components/ui";
import "../components/fleet/fleet.css";

export function FleetPage() {
  const project = useOutletContext<Project>();
  const editor = atLeast(project.role, "editor");
  const queryClient = useQueryClient();
  const devices = useFleetDevices(project.id);
  const hasDevices = (devices.data?.length ?? 0) > 0;
  const drift = useFleetDrift(project.id, hasDevices);
  const [note, setNote] = useState<string | null>(null);
  const [editing, setEditing] = useState<FleetDevice | null>(null);
  const byDevice = useMemo(() => new Map<number, Drift>((drift.data?.devices ?? []).map((d) => [d.device_id ?? 0, d])), [drift.data]);
  const reload = () => Promise.all([refresh(queryClient, fleetKeys.devices(project.id)), refresh(queryClient, fleetKeys.drift(project.id))]);

  const samples = useMutation({
    mutationFn: (device: FleetDevice) => fieldWindowsToSamples(project.id, device.id),
    onSuccess: (made, device) => {
      setNote(`${made.created} unlabelled sample${made.created === 1 ? "" : "s"} from ${device.name}: label them in Data acquisition.`);
      void reload();
    },
  });
  const remove = useMutation({
    mutationFn: (device: FleetDevice) => deleteDevice(project.id, device.id),
    onSuccess: () => void reload(),
  });

  if (devices.isPending) return <Loading what="the fleet" />;
  const alerts = (drift.data?.devices ?? []).filter((d) => d.alert);
  const threshold = drift.data?.feature_psi_alert ?? 0.25;
  return (
    <>
      <h1>Fleet</h1>
      <p className="muted">
        Devices in the field report what they classify. TinyStudio compares their features with the training windows of the model they run and says when the
        field drifts from the training data.
      </p>
      <ErrorNote error={devices.error ?? drift.error ?? samples.error ?? remove.error} />
      {note && (
        <p className="muted" role="status">
          {note}
        </p>
      )}
      {!hasDevices ? (
        <Card title="No devices yet">
          <EmptyState title="Register a device">
            <RegisterHelp projectId={project.id} />
          </EmptyState>
        </Card>
      ) : (
        <>
          <Card title={`Devices (${devices.data?.length ?? 0})`}>
            {alerts.length > 0 && (
              <p className="warning-note" role="alert">
                Drift on {alerts.map((a) => a.device_name).join(", ")}.
              </p>
            )}
            <DeviceTable
              devices={devices.data ?? []}
              drift={byDevice}
              editor={editor}
              busy={samples.isPending || remove.isPending}
              onSamples={(d) => samples.mutate(d)}
              onEdit={setEditing}
              onDelete={(d) => window.confirm(`Delete the device "${d.name}"? Its telemetry goes with it and its key stops working.`) && remove.mutate(d)}
            />
            {editing && (
              <DeviceEditor
                key={editing.id}
                projectId={project.id}
                device={editing}
                onDone={() => {
                  setEditing(null);
                  void reload();
                }}
              />
            )}
          </Card>
          {drift.isPending && <Loading what="the drift reports" />}
          <div className="drift-grid">
            {(drift.data?.fleet ?? []).map((d) => (
              <DriftCard key={`run-${d.training_run_id}`} title={`Fleet on run ${d.training_run_id}`} drift={d} threshold={threshold} />
            ))}
            {(drift.data?.devices ?? []).map((d) => (
              <DriftCard key={d.device_id} title={d.device_name ?? "device"} drift={d} threshold={threshold} />
            ))}
          </div>
          <Card title="Register another device">
            <RegisterHelp projectId={project.id} />
          </Card>
        </>
      )}
    </>
  );
}
